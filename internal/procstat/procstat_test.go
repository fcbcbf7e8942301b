package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseCPU(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{name: "plain", stat: "42 (manager) S 1 42 42 0 -1 4194560 100 0 0 0 250 35 0 0 20 0 9 0 100 1000 200",
			want: 2850 * time.Millisecond},
		{name: "command with spaces and parentheses", stat: "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 1 1",
			want: 30 * time.Millisecond},
		{name: "cut short", stat: "7 (sh) R 1 7", wantErr: true},
		{name: "no command", stat: "7 sh R", wantErr: true},
		{name: "not numbers", stat: "7 (sh) R 1 7 7 0 -1 0 0 0 0 0 x y", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCPU(tc.stat)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseCPU = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCPUOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		now, err := CPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now > before {
			return
		}
	}
	t.Fatal("5 s of spinning did not move the process's CPU time")
}
