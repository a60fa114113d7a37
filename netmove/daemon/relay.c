/* netmoved's relay: one OpenFlow connection on the configured bridge
 * (ovs/relay.c), shared by the drain's source and destination sides through
 * keys (relay.h). */
#include "netmove/daemon/relay.h"

#include <errno.h>
#include <stdlib.h>

#include "openvswitch/hmap.h"
#include "openvswitch/vlog.h"
#include "hash.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/daemon/service.h"

VLOG_DEFINE_THIS_MODULE(relay);

struct nm_relay {
    struct nmovs_relay *conn;           /* NULL until first used. */
    struct hmap keys;                   /* struct relay_key, by 'key'. */
    uint32_t next_key;
};

struct relay_key {
    struct hmap_node node;              /* In nm_relay's 'keys'. */
    uint32_t key;
    nmovs_relay_cb *cb;
    void *aux;
};

static struct nm_relay *
relay_state(struct netmoved *nm)
{
    if (!nm->relay) {
        nm->relay = xzalloc(sizeof *nm->relay);
        hmap_init(&nm->relay->keys);
    }
    return nm->relay;
}

static struct relay_key *
relay_key_find(const struct nm_relay *r, uint32_t key)
{
    struct relay_key *k;

    HMAP_FOR_EACH_WITH_HASH (k, node, hash_int(key, 0), &r->keys) {
        if (k->key == key) {
            return k;
        }
    }
    return NULL;
}

/* Every frame of the connection, to its key's owner.  A key forgotten since
 * has none: its catch is gone from the flow table, but the datapath's cached
 * flows go on sending frames here for a few milliseconds (ovs/README.md
 * "Relay"), and dropping them would lose what the release meant to let
 * through (seen: 5 pings at the destination's release of its hold).  They
 * are forwarded as the bridge would have without the catch.  A watched frame
 * was forwarded by its flow already. */
static void
relay_dispatch(void *nm_, const struct nmovs_relay_frame *f)
{
    struct netmoved *nm = nm_;
    struct relay_key *k = relay_key_find(nm->relay, f->key);

    if (k) {
        k->cb(k->aux, f);
    } else if (f->reason == NMOVS_RELAY_CAUGHT) {
        int error = nmovs_relay_forward(nm->relay->conn, f->in_port,
                                        f->data, f->len);
        if (error) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);
            VLOG_WARN_RL(&rl, "relay: a frame of released key %"PRIu32
                         " not forwarded: %s", f->key, ovs_strerror(-error));
        }
    }
}

struct nmovs_relay *
nm_relay(struct netmoved *nm, char **errorp)
{
    struct nm_relay *r = relay_state(nm);

    if (!r->conn) {
        int error = nmovs_relay_open(nm->cfg->ovs_rundir, nm->cfg->bridge,
                                     relay_dispatch, nm, &r->conn);
        if (error) {
            r->conn = NULL;
            if (errorp) {
                *errorp = xasprintf("%s: %s", nm->cfg->bridge,
                                    ovs_strerror(-error));
            }
        }
    }
    return r->conn;
}

uint32_t
nm_relay_key(struct netmoved *nm, nmovs_relay_cb *cb, void *aux)
{
    struct nm_relay *r = relay_state(nm);
    struct relay_key *k = xmalloc(sizeof *k);

    do {
        r->next_key++;
    } while (!r->next_key || relay_key_find(r, r->next_key));
    k->key = r->next_key;
    k->cb = cb;
    k->aux = aux;
    hmap_insert(&r->keys, &k->node, hash_int(k->key, 0));
    return k->key;
}

void
nm_relay_forget(struct netmoved *nm, uint32_t key)
{
    struct nm_relay *r = nm->relay;
    struct relay_key *k = r ? relay_key_find(r, key) : NULL;

    if (!k) {
        return;
    }
    if (r->conn) {
        int error = nmovs_relay_release(r->conn, key);
        if (error) {
            VLOG_WARN("releasing relay key %"PRIu32": %s", key,
                      ovs_strerror(-error));
        }
    }
    hmap_remove(&r->keys, &k->node);
    free(k);
}

void
nm_relay_run(struct netmoved *nm)
{
    if (nm->relay && nm->relay->conn) {
        nmovs_relay_run(nm->relay->conn);
    }
}

void
nm_relay_wait(struct netmoved *nm)
{
    if (nm->relay && nm->relay->conn) {
        nmovs_relay_wait(nm->relay->conn);
    }
}

void
nm_relay_destroy(struct netmoved *nm)
{
    struct nm_relay *r = nm->relay;

    if (!r) {
        return;
    }
    struct relay_key *k;
    HMAP_FOR_EACH_POP (k, node, &r->keys) {
        free(k);
    }
    hmap_destroy(&r->keys);
    if (r->conn) {
        nmovs_relay_close(r->conn);
    }
    free(r);
    nm->relay = NULL;
}
