# ctnetlink requests and the kernel's refusals go through wrapped sendto()
# and recv(): the test plays the kernel.
LDFLAGS_test_ct := -Wl,--wrap=sendto -Wl,--wrap=recv
