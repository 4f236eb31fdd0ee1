/*  llhttp's generated api.c, found by configure (Debian's node-llhttp or
    --with-llhttp=DIR) and compiled into libllhttp.la with its own flags
    (Makefile.am): strict mode, not our warnings, hidden symbols.
*/
#include <api.c>
