/* The seccomp filter of moat-sandbox.  Default action: kill the process.
 * What it prevents: JavaScript that escapes Duktape (a memory-safety bug
 * exploited by a hostile PAC or extension) gets no file, network or process
 * syscalls, only its pipe, memory and clocks. */
#include <errno.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "sandbox/sandbox.h"

static int
allow (scmp_filter_ctx ctx, int nr)
{
  return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 0);
}

int
sandbox_seccomp_install (moat_error_t *err)
{
  scmp_filter_ctx ctx;
  int rc = 0;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return moat_error (err, errno, "set no_new_privs");
  ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  if (ctx == NULL)
    return moat_error (err, ENOMEM, "seccomp_init");

  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (read), 1,
                          SCMP_A0 (SCMP_CMP_EQ, 0));
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (write), 1,
                          SCMP_A0 (SCMP_CMP_EQ, 1));
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (write), 1,
                          SCMP_A0 (SCMP_CMP_EQ, 2));
  /* Memory, never executable: no JIT here, so PROT_EXEC only helps an
   * attacker. */
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (mmap), 1,
                          SCMP_A2 (SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (mprotect), 1,
                          SCMP_A2 (SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  rc |= allow (ctx, SCMP_SYS (brk));
  rc |= allow (ctx, SCMP_SYS (munmap));
  rc |= allow (ctx, SCMP_SYS (mremap));
  rc |= allow (ctx, SCMP_SYS (madvise));
  rc |= allow (ctx, SCMP_SYS (clock_gettime));
  rc |= allow (ctx, SCMP_SYS (gettimeofday));
  rc |= allow (ctx, SCMP_SYS (rt_sigreturn));
  /* Query only (new stack NULL): ASan's longjmp interception asks for the
   * alternate stack when Duktape throws. */
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (sigaltstack), 1,
                          SCMP_A0 (SCMP_CMP_EQ, 0));
  rc |= allow (ctx, SCMP_SYS (exit));
  rc |= allow (ctx, SCMP_SYS (exit_group));
  if (rc != 0)
    {
      seccomp_release (ctx);
      return moat_error (err, EINVAL, "build seccomp filter");
    }
  rc = seccomp_load (ctx);
  seccomp_release (ctx);
  if (rc < 0)
    return moat_error (err, -rc, "load seccomp filter");
  return 0;
}
