// The host <-> agent protocol. QEMU gives the guest virtio-serial ports, and connects each to a
// unix socket in the container's state directory (QEMU is the server) or to a file. On the ports
// that carry messages, every message is a frame (vm/frame.h):
//
//   port "ocelot.ctl" (socket vm.sock; one host connection at a time):
//     host  -> agent  plan(json)              the guest plan (vm/guest_config.h), sent by create
//     agent -> host   ready | error(msg)      the container is created (or why not)
//     host  -> agent  start                   release it (ocelot start / run)
//     agent -> host   started | error(msg)
//     agent -> host   exit(code)              the workload exited (128+N: killed by signal N);
//                                             the guest powers off right after
//     host  -> agent  kill(sig)               (run forwards the signals it receives this way)
//     host  -> agent  resize("ROWS COLS")     run's own terminal changed size (SIGWINCH)
//   port "ocelot.cmd" (socket cmd.sock; short connections from kill, kill --all, update):
//     host  -> agent  kill(sig) | kill_all(sig) | update(resources json)
//     agent -> host   done | error(msg)
//   ports "ocelot.exec0".."ocelot.exec<kExecSessions-1>" (sockets exec0.sock...; one `ocelot exec`
//     each at a time: an exec takes the first port whose lock file exec<N>.lock it can flock):
//     host  -> agent  exec(json)              vm/exec_request.h
//     agent -> host   started(pid)            the process runs (its pid in the guest)
//     agent -> host   out(bytes) | err(bytes) the process's stdout and stderr (may come first)
//     agent -> host   exit(code) | error(msg)
//     host  -> agent  kill(sig)               (exec forwards the signals it receives)
//     host  -> agent  in(bytes)               its stdin (exec's own, relayed); in("") ends it
//   ports "ocelot.out" and "ocelot.err": the workload's stdout and stderr, bytes only.
//   port "ocelot.tty" (process.terminal only): the container's pty, bytes both ways; on the host
//     QEMU holds the slave of a host pty whose master goes to --console-socket (or to `run`).
//
// The guest never sees a host path: sockets and output files are opened by QEMU on the host.
#pragma once

#include <string>

namespace ocelot::vm {

// How many `ocelot exec` sessions one VM container serves at once (a detached exec holds its
// session for as long as its process runs).
inline constexpr int kExecSessions = 4;
inline std::string exec_port_name(int i) { return "ocelot.exec" + std::to_string(i); }
inline std::string exec_socket_name(int i) { return "exec" + std::to_string(i) + ".sock"; }
inline std::string exec_lock_name(int i) { return "exec" + std::to_string(i) + ".lock"; }

inline constexpr const char* kCtlPort = "ocelot.ctl";
inline constexpr const char* kCmdPort = "ocelot.cmd";
inline constexpr const char* kOutPort = "ocelot.out";
inline constexpr const char* kErrPort = "ocelot.err";
inline constexpr const char* kTtyPort = "ocelot.tty";
inline constexpr const char* kCtlSocket = "vm.sock";
inline constexpr const char* kCmdSocket = "cmd.sock";

}  // namespace ocelot::vm
