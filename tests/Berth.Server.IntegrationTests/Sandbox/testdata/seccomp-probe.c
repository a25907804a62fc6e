/*
 * Runs inside a job (SeccompTests): tries what the job seccomp profile refuses and what it must keep allowing.
 * Prints "ok <check>" or "FAIL <check>" per check, then writes {"perf": 1} to /data/perf.json when every check
 * passed, {"perf": 0} otherwise. Built on the test host with: gcc -static -O2 -s -pthread -o probe seccomp-probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int failures;

static void check(const char *what, int ok, long detail)
{
    printf("%s %s (%ld)\n", ok ? "ok" : "FAIL", what, detail);
    fflush(stdout);
    failures += !ok;
}

/* The filter refused the call: EPERM from the default action or ENOSYS from an errnoRet rule. */
static int refused(long result, int err) { return result == -1 && (err == EPERM || err == ENOSYS); }

/* Runs fn in a child process and returns its wait status. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        _exit(fn());
    }
    int status = -1;
    if (pid > 0) {
        waitpid(pid, &status, 0);
    }
    return status;
}

static int traceme(void) { return refused(ptrace(PTRACE_TRACEME, 0, 0, 0), errno) ? 0 : 1; }

/* getpid through the i386 entry point: 1 when it answered a pid, so the 32-bit ABI was open. */
static int i386_getpid(void)
{
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    return result > 0 ? 1 : 0;
}

static int exits_zero(void) { return 0; }

static void *thread_main(void *arg) { return arg; }

static void socket_family(const char *what, int family, int type, int protocol, int allowed)
{
    int fd = socket(family, type, protocol);
    int err = errno;
    if (fd >= 0) {
        close(fd);
    }
    check(what, allowed ? fd >= 0 : refused(fd, err), fd >= 0 ? 0 : err);
}

int main(void)
{
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long r = syscall(SYS_io_uring_setup, 1, &params);
    int err = errno;
    if (r >= 0) {
        close((int)r);
    }
    check("io_uring_setup refused", refused(r, err), r >= 0 ? r : err);
    r = syscall(SYS_io_uring_enter, -1, 1, 0, 0, NULL, 0); /* the kernel itself would answer EBADF */
    err = errno;
    check("io_uring_enter refused", refused(r, err), err);
    r = syscall(SYS_io_uring_register, -1, 0, NULL, 0);
    err = errno;
    check("io_uring_register refused", refused(r, err), err);

    r = ptrace(PTRACE_ATTACH, 1, 0, 0);
    err = errno;
    if (r == 0) { /* let pid 1 go again, or the job hangs until its timeout */
        waitpid(1, NULL, __WALL);
        ptrace(PTRACE_DETACH, 1, 0, 0);
    }
    check("ptrace attach to pid 1 refused", refused(r, err), r == 0 ? 0 : err);
    int status = in_child(traceme);
    check("ptrace traceme refused", WIFEXITED(status) && WEXITSTATUS(status) == 0, status);

    r = unshare(CLONE_NEWUSER);
    err = errno;
    check("unshare user namespace refused", refused(r, err), err);
    r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    err = errno;
    if (r == 0) {
        _exit(0);
    }
    if (r > 0) {
        waitpid((pid_t)r, NULL, 0);
    }
    check("clone into a user namespace refused", refused(r, err), r >= 0 ? r : err);
    r = personality(PER_LINUX | ADDR_NO_RANDOMIZE);
    err = errno;
    check("personality without ASLR refused", refused(r, err), err);
    socket_family("vsock socket refused", AF_VSOCK, SOCK_STREAM, 0, 0);
    status = in_child(i386_getpid);
    check("i386 syscall refused", !(WIFEXITED(status) && WEXITSTATUS(status) == 1), status);

    status = in_child(exits_zero);
    check("fork works", WIFEXITED(status) && WEXITSTATUS(status) == 0, status);
    pthread_t thread;
    int created = pthread_create(&thread, NULL, thread_main, NULL);
    if (created == 0) {
        pthread_join(thread, NULL);
    }
    check("threads work", created == 0, created);
    r = syscall(SYS_clone3, NULL, 0); /* the kernel itself would answer EINVAL */
    err = errno;
    check("clone3 answers ENOSYS", r == -1 && err == ENOSYS, err);
    struct statx stx;
    r = statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &stx);
    err = errno;
    check("statx works", r == 0, err);
    r = personality(0xffffffff);
    err = errno;
    check("personality query works", r != -1, err);
    socket_family("unix socket works", AF_UNIX, SOCK_STREAM, 0, 1);
    socket_family("inet socket works", AF_INET, SOCK_DGRAM, 0, 1);
    socket_family("inet6 socket works", AF_INET6, SOCK_STREAM, 0, 1);
    socket_family("netlink socket works", AF_NETLINK, SOCK_RAW, 0, 1);

    FILE *perf = fopen("/data/perf.json", "w");
    if (perf == NULL) {
        return 2;
    }
    fprintf(perf, "{\"perf\": %d}\n", failures == 0 ? 1 : 0);
    return fclose(perf) == 0 ? 0 : 2;
}
