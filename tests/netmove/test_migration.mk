# The clock and the CLI's answers are the test's (tests/netmove/test_migration.c);
# peers, OVS, firewall and announcer are fakes behind the ops table; the
# source side's peer methods are not registered (no peers); a journal append
# fails on demand.
LDFLAGS_test_migration := -Wl,--wrap=time_usec -Wl,--wrap=time_wall_usec \
                          -Wl,--wrap=unixctl_command_reply \
                          -Wl,--wrap=unixctl_command_reply_error \
                          -Wl,--wrap=nm_peers_register \
                          -Wl,--wrap=nm_peers_register_async \
                          -Wl,--wrap=nm_journal_append
