// Command svc is the workload of the machine tests: an HTTP server that
// reports who and where it is, takes its socket from systemd when
// given one, and counts SIGHUPs.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2]))
	}
	l, how, err := listener()
	if err != nil {
		fmt.Println("cannot listen:", err)
		os.Exit(1)
	}
	var hups atomic.Int64
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			fmt.Println("got SIGHUP")
			hups.Add(1)
		}
	}()
	if d, err := time.ParseDuration(os.Getenv("STARTUP_DELAY")); err == nil {
		time.Sleep(d) // a slow start: clients must queue, not be refused
	}
	if addr := os.Getenv("NOTIFY_SOCKET"); addr != "" && os.Getenv("NO_NOTIFY") == "" {
		if c, err := net.Dial("unixgram", addr); err == nil {
			c.Write([]byte("READY=1\nSTATUS=serving"))
			c.Close()
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("started pid=%d uid=%d via=%s\n", os.Getpid(), os.Getuid(), how)
	http.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		// Reports whether the service may write a path: for sandbox tests.
		if err := os.WriteFile(r.URL.Query().Get("path"), []byte("x"), 0o644); err != nil {
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		status, _ := os.ReadFile("/proc/self/status")
		field := func(name string) string {
			for _, line := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, name+":"); ok {
					return strings.TrimSpace(v)
				}
			}
			return ""
		}
		nnp := field("NoNewPrivs")
		fmt.Fprintf(w, "host=%s pid=%d uid=%d hups=%d via=%s nnp=%s greeting=%q fdnames=%s capeff=%s capbnd=%s\n",
			host, os.Getpid(), os.Getuid(), hups.Load(), how, nnp, os.Getenv("GREETING"), os.Getenv("LISTEN_FDNAMES"),
			field("CapEff"), field("CapBnd"))
	})
	http.Serve(l, nil)
}

// listener takes fd 3 when systemd's LISTEN_FDS/LISTEN_PID say it is ours.
func listener() (net.Listener, string, error) {
	if os.Getenv("LISTEN_FDS") == "1" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		l, err := net.FileListener(os.NewFile(3, "socket"))
		return l, "socket", err
	}
	l, err := net.Listen("tcp", os.Getenv("ADDR"))
	return l, "listen", err
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
	return 0
}
