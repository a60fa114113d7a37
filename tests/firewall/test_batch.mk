# The batch is sent and answered through wrapped sendmsg() and recv(): the
# kernel's answers are played by the test.
LDFLAGS_test_batch := -Wl,--wrap=sendmsg -Wl,--wrap=recv
