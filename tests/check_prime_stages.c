/* check_prime_stages: placeholder, written next */
#include <check.h>
int main (void) { return 0; }
