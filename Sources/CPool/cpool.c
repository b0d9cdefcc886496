#include "cpool.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

enum { POOL_SIZE = 16, KEY_SIZE = 320, IDLE_SECONDS = 15 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char key[KEY_SIZE];
    void *connection;
    time_t since;
} pool[POOL_SIZE];

static time_t now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec;
}

void *cpool_take(const char *key, void **stale) {
    void *found = NULL;
    *stale = NULL;
    time_t at = now();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < POOL_SIZE; i++) {
        if (!pool[i].connection) continue;
        if (at - pool[i].since > IDLE_SECONDS) {
            if (!*stale) {
                *stale = pool[i].connection;
                pool[i].connection = NULL;
            }
        } else if (!found && !strcmp(pool[i].key, key)) {
            found = pool[i].connection;
            pool[i].connection = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

void *cpool_give(const char *key, void *connection) {
    if (strlen(key) >= KEY_SIZE) return connection;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < POOL_SIZE && connection; i++) {
        if (!pool[i].connection) {
            strcpy(pool[i].key, key);
            pool[i].connection = connection;
            pool[i].since = now();
            connection = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return connection;
}
