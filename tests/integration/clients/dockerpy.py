#!/usr/bin/python3
"""docker-py (Debian's python3-docker) through moat's guarded socket.

Run with DOCKER_HOST set; prints "ok - NAME" / "not ok - NAME" lines (and
"# " diagnostics) that test_clients.sh counts.  Usage: dockerpy.py IMAGE
"""
import sys
import traceback

import docker

PID_REFUSAL = ("enhanced container isolation: containers can't share the "
               "pid namespace with the host")


def report(name, good, diag=""):
    print(("ok - " if good else "not ok - ") + "docker-py: " + name)
    if not good and diag:
        for line in str(diag).splitlines()[-15:]:
            print("# " + line)
    sys.stdout.flush()


def case(name, fn):
    try:
        good, diag = fn()
    except Exception:  # a client exception is a failed case, not a crash
        good, diag = False, traceback.format_exc()
    report(name, good, diag)


def main():
    image = sys.argv[1] if len(sys.argv) > 1 else "busybox:latest"
    client = docker.from_env(timeout=60)
    made = []

    def run_detach_remove():
        out = client.containers.run(image, ["echo", "hello-py"], remove=True)
        return out == b"hello-py\n", repr(out)

    def run_logs():
        c = client.containers.run(image, ["sh", "-c", "echo out-line; echo err-line >&2"],
                                  detach=True, name="clients-py-logs")
        made.append(c)
        res = c.wait(timeout=30)
        logs = c.logs(stdout=True, stderr=True)
        good = res.get("StatusCode") == 0 and b"out-line" in logs and b"err-line" in logs
        return good, repr((res, logs))

    def exec_run():
        c = client.containers.run(image, ["sleep", "60"], detach=True, name="clients-py-exec")
        made.append(c)
        rc, out = c.exec_run(["sh", "-c", "echo exec-py; cat /proc/self/uid_map"])
        lines = out.decode().split("\n")
        # a private user namespace: the map does not start at host uid 0
        fields = lines[1].split() if len(lines) > 1 else []
        good = rc == 0 and lines[0] == "exec-py" and len(fields) == 3 and fields[1] != "0"
        return good, repr((rc, out))

    def stats_stream():
        c = client.containers.run(image, ["sleep", "60"], detach=True, name="clients-py-stats")
        made.append(c)
        samples = []
        for s in c.stats(stream=True, decode=True):
            samples.append(s)
            if len(samples) == 2:
                break
        good = len(samples) == 2 and all("memory_stats" in s for s in samples)
        return good, repr(samples)[:2000]

    def refused_pid_host():
        try:
            c = client.containers.run(image, ["true"], pid_mode="host", detach=True)
            made.append(c)
            return False, "pid_mode=host was not refused"
        except docker.errors.APIError as e:
            good = e.explanation == PID_REFUSAL and e.response.status_code == 403
            return good, "status %s explanation %r" % (e.response.status_code, e.explanation)

    def images_list():
        tags = [t for i in client.images.list() for t in i.tags]
        return image in tags, repr(tags)

    case("containers.run", run_detach_remove)
    case("containers.run detach + wait + logs", run_logs)
    case("exec_run in a private user namespace", exec_run)
    case("stats stream (two samples)", stats_stream)
    case("pid_mode=host refused with the contract message", refused_pid_host)
    case("images.list", images_list)
    for c in made:
        try:
            c.remove(force=True)
        except Exception:
            pass


if __name__ == "__main__":
    main()
