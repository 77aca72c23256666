// Command pause holds a pod's namespaces open: it is PID 1 of the pod's shared PID
// namespace, so it reaps every orphan reparented to it, and it exits 0 when asked to stop
// (SIGINT or SIGTERM). It does nothing else and never touches the file system, so it runs
// as any user with a read-only root.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const version = "tradestorm-pause 1.0"

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "-v" || os.Args[1] == "--version" {
			fmt.Println(version)
			return
		}
		fmt.Fprintf(os.Stderr, "usage: %s [-v]\n", os.Args[0])
		os.Exit(2)
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: warning: not PID 1, orphans are reaped only if they are my children")
	}
	reap() // children that ended before the handler was installed
	for sig := range signals {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			fmt.Fprintf(os.Stderr, "pause: %v, exiting\n", sig)
			os.Exit(0)
		}
	}
}

// reap collects every ended child without blocking. SIGCHLD signals coalesce, so one signal
// may stand for several children: loop until none is left to collect.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
