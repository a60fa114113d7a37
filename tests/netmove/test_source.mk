# The clock, the peer layer's registration and answers, the journal's
# append and the port removal's start wrapped (tests/netmove/test_source.c).
LDFLAGS_test_source := -Wl,--wrap=time_msec \
                       -Wl,--wrap=nm_peers_register \
                       -Wl,--wrap=nm_peers_register_async \
                       -Wl,--wrap=nm_peers_reply \
                       -Wl,--wrap=nm_peers_reply_error \
                       -Wl,--wrap=nm_journal_append \
                       -Wl,--wrap=nmovs_remove_start \
                       -Wl,--wrap=nmovs_db_sync_done
# The drain (netmove/daemon/drain_src.c): the relay connection, the
# monotonic clock and the CLI's answers wrapped too.
LDFLAGS_test_source += -Wl,--wrap=time_usec \
                       -Wl,--wrap=nm_relay \
                       -Wl,--wrap=nm_relay_key \
                       -Wl,--wrap=nm_relay_forget \
                       -Wl,--wrap=nmovs_relay_catch \
                       -Wl,--wrap=nmovs_relay_watch \
                       -Wl,--wrap=nmovs_relay_synced \
                       -Wl,--wrap=nmovs_relay_output \
                       -Wl,--wrap=unixctl_command_reply \
                       -Wl,--wrap=nm_peers_has_capability \
                       -Wl,--wrap=unixctl_command_reply_error
