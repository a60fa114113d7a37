/* netmoved's own state for tests that serve source.c's peer methods
 * without the network or root (tests/netmove/test_source.c,
 * tests/fuzz/fuzz_peer.c): a real configuration of host1 and a journal in a
 * private directory, an OVSDB replica that never connects, and the
 * journal of migration m1: an export of vm1 to host2. */
#ifndef TESTS_SOURCE_HARNESS_H
#define TESTS_SOURCE_HARNESS_H 1

#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/hmap.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"
#include "ovs/ovs.h"

/* Fills '*nm' (zeroed first) in 'dir', which exists: 0, or -1 with a
 * message in 'err'. */
static inline int
source_harness_open(struct netmoved *nm, const char *dir, char *err,
                    size_t errlen)
{
    char path[128];

    memset(nm, 0, sizeof *nm);
    snprintf(path, sizeof path, "%s/netmoved.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    fprintf(f, "{\"version\": 1, \"host\": \"host1\", \"site\": \"a\","
            " \"bridge\": \"br-int\", \"uplink\": \"up0\","
            " \"ovs_rundir\": \"%s\", \"state_dir\": \"%s/netmove\","
            " \"networks\": [{\"name\": \"blue\","
            " \"vlans\": {\"a\": 100, \"b\": 200}}]}\n", dir, dir);
    fclose(f);
    if (nm_config_load(path, &nm->cfg, err, errlen)
        || nm_peers_create(nm->cfg, &nm->peers, err, errlen)
        || nm_journal_open(nm->cfg->state_dir, 16, &nm->journal,
                           err, errlen)) {
        return -1;
    }
    snprintf(path, sizeof path, "unix:%s/none.sock", dir);
    nm->db = nmovs_db_create(path, dir);
    hmap_init(&nm->migrations);
    ovs_list_init(&nm->batches);
    ovs_list_init(&nm->records_queue);
    ovs_list_init(&nm->records_flight);
    return 0;
}

/* Frees what source_harness_open() made (source.c's state is the
 * caller's to destroy first). */
static inline void
source_harness_close(struct netmoved *nm)
{
    nmovs_db_close(nm->db);
    nm_journal_close(nm->journal);
    nm_peers_destroy(nm->peers);
    nm_config_destroy(nm->cfg);
    hmap_destroy(&nm->migrations);
}

static inline int
source_harness_remove_one(const char *path,
                          const struct stat *st OVS_UNUSED,
                          int flag OVS_UNUSED, struct FTW *ftw OVS_UNUSED)
{
    return remove(path);
}

/* Removes 'dir' and everything in it. */
static inline void
source_harness_remove(const char *dir)
{
    nftw(dir, source_harness_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The records of an export of vm1 to host2, as source.c journals it. */
static inline struct json *
source_harness_export_records(void)
{
    struct json *port = json_from_string(
        "{\"version\": 1, \"vm\": \"vm1\", \"ports\": [{\"name\": \"qvo-vm1\","
        " \"bridge\": \"br-int\", \"interfaces\": [{\"name\": \"qvo-vm1\","
        " \"type\": \"\", \"external_ids\": {\"vm-id\": \"vm1\","
        " \"attached-mac\": \"02:00:00:00:00:01\"}}]}]}");
    struct json *extra = json_object_create();

    json_object_put_string(extra, "peer", "host2");
    json_object_put(extra, "port", port);
    return json_array_create_1(
        nm_journal_rec_create(NM_JOURNAL_SOURCE, NM_JS_EXPORT, "vm1", extra));
}

#endif /* tests/source-harness.h */
