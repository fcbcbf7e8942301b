// Package freeport picks loopback addresses for listeners a test must name
// before the process that opens them starts (a manager's metrics, probe and
// bookmark listeners; the demo's bookmark URL).
//
// Asking the kernel for port 0 and closing the listener races: the port
// comes from the ephemeral range, and until the process binds it, any
// outbound connection or other ":0" listener on the machine may be given
// the same port. With the apiserver, etcd and several test packages
// connecting at once, that happened in CI ("bind: address already in use").
// The ports here come from below the ephemeral range, where the kernel
// never hands out ports by itself, and the addresses of one call are held
// open together until all are chosen, so they are distinct.
package freeport

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowestPort is the bottom of the range tried: above the well-known and
// most registered services a developer's machine runs.
const lowestPort = 10000

// defaultEphemeralLow is Linux's default first ephemeral port, used when
// /proc does not say.
const defaultEphemeralLow = 32768

// Addr is one free loopback address ("127.0.0.1:port").
func Addr(t testing.TB) string {
	t.Helper()
	return Addrs(t, 1)[0]
}

// Addrs is n distinct free loopback addresses.
func Addrs(t testing.TB, n int) []string {
	t.Helper()
	addrs, err := pick(n, ephemeralLow())
	if err != nil {
		t.Fatalf("finding %d free loopback ports: %v", n, err)
	}
	return addrs
}

// pick binds n ports of [lowestPort, below), holds them until all are
// bound, and releases them.
func pick(n, below int) ([]string, error) {
	if below-lowestPort < 100 {
		return nil, fmt.Errorf("the ports below the ephemeral range (%d) are too few", below)
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for tries := 0; len(addrs) < n; tries++ {
		if tries == 100*n {
			return nil, fmt.Errorf("no free port after %d tries", tries)
		}
		port := lowestPort + rand.IntN(below-lowestPort) //nolint:gosec // G404: spreading test ports needs no secret randomness
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: try another
		}
		held = append(held, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// ephemeralLow is the first port the kernel hands out by itself.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return defaultEphemeralLow
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return defaultEphemeralLow
	}
	return low
}
