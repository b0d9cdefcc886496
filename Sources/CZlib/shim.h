// zlib, for reading gzip-compressed IDX files (MNIST, Fashion-MNIST).
#include <zlib.h>
