#!/usr/bin/python3
"""A minimal CRI client (Debian has neither kubelet nor crictl).

cri_client.py SOCKET PROTO_OUT_DIR COMMAND [ARGS...]

Messages come from cri_subset.proto (our own subset, compiled with
Debian's protoc into PROTO_OUT_DIR); the calls are made by method path,
/runtime.v1.RuntimeService/<Method>, with Debian's python3-grpcio.

Commands (each prints a JSON object):
  version
  runp NAME UID HANDLER CGROUP_PARENT LOGDIR [hostnet]
  create POD_ID POD_NAME POD_UID NAME IMAGE CGROUP_PARENT LOGDIR CMD...
  start CONTAINER_ID
  exec CONTAINER_ID CMD...
  stop CONTAINER_ID / rm CONTAINER_ID / stopp POD_ID / rmp POD_ID
"""
import json, sys

sock, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, out)
import grpc  # noqa: E402
import cri_subset_pb2 as pb  # noqa: E402

ch = grpc.insecure_channel("unix://" + sock)


def call(method, req, resp_cls, timeout=120):
    f = ch.unary_unary("/runtime.v1.RuntimeService/" + method,
                       request_serializer=lambda m: m.SerializeToString(),
                       response_deserializer=resp_cls.FromString)
    return f(req, timeout=timeout)


def sandbox_config(name, uid, cgroup, logdir, hostnet=False):
    c = pb.PodSandboxConfig()
    c.metadata.name, c.metadata.uid, c.metadata.namespace = name, uid, "default"
    c.hostname = name
    c.log_directory = logdir
    c.linux.cgroup_parent = cgroup
    c.linux.security_context.namespace_options.network = pb.NODE if hostnet else pb.POD
    c.linux.security_context.namespace_options.pid = pb.CONTAINER
    c.linux.security_context.namespace_options.ipc = pb.POD
    return c


cmd, a = sys.argv[3], sys.argv[4:]
try:
    if cmd == "version":
        r = call("Version", pb.VersionRequest(version="v1"), pb.VersionResponse)
        print(json.dumps({"runtime_name": r.runtime_name, "runtime_version": r.runtime_version,
                          "runtime_api_version": r.runtime_api_version}))
    elif cmd == "runp":
        req = pb.RunPodSandboxRequest(runtime_handler=a[2])
        req.config.CopyFrom(sandbox_config(a[0], a[1], a[3], a[4], len(a) > 5 and a[5] == "hostnet"))
        r = call("RunPodSandbox", req, pb.RunPodSandboxResponse)
        print(json.dumps({"id": r.pod_sandbox_id}))
    elif cmd == "create":
        pod, pod_name, pod_uid, name, image, cgroup, logdir = a[:7]
        req = pb.CreateContainerRequest(pod_sandbox_id=pod)
        req.config.metadata.name = name
        req.config.image.image = image
        req.config.command.extend(a[7:])
        req.config.log_path = name + ".log"
        # as the kubelet sends it without shareProcessNamespace: the pod's
        # network and IPC, a pid namespace of the container's own
        no = req.config.linux.security_context.namespace_options
        no.network, no.pid, no.ipc = pb.POD, pb.CONTAINER, pb.POD
        # the sandbox's config again, as the kubelet sends it
        req.sandbox_config.CopyFrom(sandbox_config(pod_name, pod_uid, cgroup, logdir))
        r = call("CreateContainer", req, pb.CreateContainerResponse)
        print(json.dumps({"id": r.container_id}))
    elif cmd == "start":
        call("StartContainer", pb.StartContainerRequest(container_id=a[0]), pb.StartContainerResponse)
        print(json.dumps({"ok": True}))
    elif cmd == "exec":
        r = call("ExecSync", pb.ExecSyncRequest(container_id=a[0], cmd=a[1:], timeout=30),
                 pb.ExecSyncResponse)
        print(json.dumps({"exit_code": r.exit_code, "stdout": r.stdout.decode(errors="replace"),
                          "stderr": r.stderr.decode(errors="replace")}))
    elif cmd in ("stop", "rm"):
        if cmd == "stop":
            call("StopContainer", pb.StopContainerRequest(container_id=a[0], timeout=5),
                 pb.StopContainerResponse)
        else:
            call("RemoveContainer", pb.RemoveContainerRequest(container_id=a[0]),
                 pb.RemoveContainerResponse)
        print(json.dumps({"ok": True}))
    elif cmd in ("stopp", "rmp"):
        if cmd == "stopp":
            call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=a[0]),
                 pb.StopPodSandboxResponse)
        else:
            call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=a[0]),
                 pb.RemovePodSandboxResponse)
        print(json.dumps({"ok": True}))
    else:
        sys.exit("unknown command " + cmd)
except grpc.RpcError as e:
    print(json.dumps({"error": e.code().name, "message": e.details()}))
    sys.exit(1)
