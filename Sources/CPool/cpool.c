#include "cpool.h"

#include <pthread.h>
#include <string.h>

enum { POOL_SIZE = 16, KEY_SIZE = 320 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char key[KEY_SIZE];
    void *connection;
} pool[POOL_SIZE];

void *cpool_take(const char *key) {
    void *found = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < POOL_SIZE && !found; i++) {
        if (pool[i].connection && !strcmp(pool[i].key, key)) {
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
            connection = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return connection;
}
