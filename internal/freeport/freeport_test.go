package freeport

import (
	"context"
	"net"
	"strconv"
	"testing"
)

func TestAddrsAreDistinctFreeAndBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		addrs := Addrs(t, 3)
		seen := map[string]bool{}
		for _, a := range addrs {
			if seen[a] {
				t.Fatalf("Addrs gave %s twice: %v", a, addrs)
			}
			seen[a] = true
			_, p, err := net.SplitHostPort(a)
			if err != nil {
				t.Fatal(err)
			}
			port, _ := strconv.Atoi(p)
			if port < lowestPort || port >= low {
				t.Fatalf("port %d is outside [%d, %d)", port, lowestPort, low)
			}
			l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", a)
			if err != nil {
				t.Fatalf("the address Addrs gave cannot be bound: %v", err)
			}
			_ = l.Close()
		}
	}
}

func TestPickRefusesARangeTooSmall(t *testing.T) {
	if _, err := pick(1, lowestPort+10); err == nil {
		t.Fatal("pick accepted a range of 10 ports")
	}
}
