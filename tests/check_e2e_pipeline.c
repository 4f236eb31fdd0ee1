/* check_e2e_pipeline: not written yet; fails on purpose until it is. */
#include <stdio.h>
int main (void) { fprintf (stderr, "check_e2e_pipeline: not written yet\n"); return 99; }
