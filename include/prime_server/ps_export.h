/*  ps_export: PS_EXPORT marks what libprime_server exports.

    The library is compiled with -fvisibility=hidden, so a function is
    visible outside it only when its declaration carries PS_EXPORT. Every
    function declared in a public header does; helpers that two library
    files share (src/ps_*_private.h) do not, and stay out of the ABI.
    tests/test_exported_symbols.sh checks the built library against the
    headers.
*/
#ifndef PS_EXPORT_H_INCLUDED
#define PS_EXPORT_H_INCLUDED

#if defined(__GNUC__) && __GNUC__ >= 4
#define PS_EXPORT __attribute__ ((visibility ("default")))
#else
#define PS_EXPORT
#endif

#endif
