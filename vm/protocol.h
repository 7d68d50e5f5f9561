// The host <-> agent protocol, over two virtio-serial ports that QEMU connects to unix sockets in
// the container's state directory. Lines of text, one message each:
//
//   port "ocelot.ctl" (socket vm.sock; one host connection at a time):
//     host  -> agent  "plan <N>\n" + N bytes   the guest plan (vm/guest_config.h), sent by create
//     agent -> host   "ready" | "error <msg>"  the container is created (or why not)
//     host  -> agent  "start"                  release it (ocelot start / run)
//     agent -> host   "started" | "error <msg>"
//     agent -> host   "exit <code>"            the workload exited (128+N: killed by signal N);
//                                              the guest powers off right after
//     host  -> agent  "kill <signal>"          (run forwards the signals it receives this way)
//   port "ocelot.sig" (socket sig.sock; short connections from `ocelot kill`):
//     host  -> agent  "kill <signal>"
//   port "ocelot.exec" (socket exec.sock; one `ocelot exec` at a time, others wait their turn):
//     host  -> agent  "exec <json>"            vm/exec_request.h
//     agent -> host   "o <N>\n" + N bytes      the process's stdout
//     agent -> host   "e <N>\n" + N bytes      its stderr
//     agent -> host   "exit <code>" | "error <msg>"
//     host  -> agent  "kill <signal>"          (exec forwards the signals it receives)
//   ports "ocelot.out" and "ocelot.err": the workload's stdout and stderr, bytes only.
//   port "ocelot.tty" (process.terminal only): the container's pty, bytes both ways; on the host
//     QEMU holds the slave of a host pty whose master goes to --console-socket (or to `run`).
//
// The guest never sees a host path: sockets and output files are opened by QEMU on the host.
#pragma once

namespace ocelot::vm {

inline constexpr const char* kCtlPort = "ocelot.ctl";
inline constexpr const char* kSigPort = "ocelot.sig";
inline constexpr const char* kOutPort = "ocelot.out";
inline constexpr const char* kErrPort = "ocelot.err";
inline constexpr const char* kExecPort = "ocelot.exec";
inline constexpr const char* kTtyPort = "ocelot.tty";
inline constexpr const char* kCtlSocket = "vm.sock";
inline constexpr const char* kSigSocket = "sig.sock";
inline constexpr const char* kExecSocket = "exec.sock";

}  // namespace ocelot::vm
