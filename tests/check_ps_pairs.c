/* check_ps_pairs: not written yet; fails on purpose until it is. */
#include <stdio.h>
int main (void) { fprintf (stderr, "check_ps_pairs: not written yet\n"); return 99; }
