#ifndef CLIPKIT_CMPI_SHIM_H
#define CLIPKIT_CMPI_SHIM_H
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are
// macros that take the address of library globals; Swift cannot import them,
// so these functions hand them over.
#include <mpi.h>

static inline MPI_Comm clipkit_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype clipkit_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype clipkit_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype clipkit_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype clipkit_mpi_int(void) { return MPI_INT; }
static inline MPI_Op clipkit_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op clipkit_mpi_max(void) { return MPI_MAX; }
static inline void *clipkit_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler clipkit_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request clipkit_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *clipkit_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *clipkit_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int clipkit_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int clipkit_mpi_success(void) { return MPI_SUCCESS; }
static inline int clipkit_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
