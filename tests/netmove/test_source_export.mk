# The source's batch export (tests/netmove/test_source_export.c): the clock,
# the peer layer, OVSDB's barrier and the VM's port, the learned addresses,
# the firewall and conntrack dumps and the journal's append wrapped.
LDFLAGS_test_source_export := -Wl,--wrap=time_msec \
                              -Wl,--wrap=nm_peers_register \
                              -Wl,--wrap=nm_peers_register_async \
                              -Wl,--wrap=nm_peers_reply \
                              -Wl,--wrap=nm_peers_reply_error \
                              -Wl,--wrap=nmovs_db_sync_done \
                              -Wl,--wrap=nmovs_export \
                              -Wl,--wrap=nm_learn_merge \
                              -Wl,--wrap=fw_export_many \
                              -Wl,--wrap=ct_export \
                              -Wl,--wrap=ct_export_many \
                              -Wl,--wrap=nm_journal_append
