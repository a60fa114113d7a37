# write() wrapped: a journal write that fails part way (test_journal.c).
LDFLAGS_test_journal := -Wl,--wrap=write
