package memlimit

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    int64
		noLimit bool
		bad     bool
	}{
		{content: "268435456\n", want: 268435456},
		{content: "max\n", noLimit: true},
		{content: "lots\n", bad: true},
		{content: "-1\n", bad: true},
		{content: "", bad: true},
	} {
		got, err := Read(write(t, tc.content))
		switch {
		case tc.noLimit:
			if !errors.Is(err, ErrNoLimit) {
				t.Errorf("%q: err %v, want ErrNoLimit", tc.content, err)
			}
		case tc.bad:
			if err == nil || errors.Is(err, ErrNoLimit) {
				t.Errorf("%q: err %v, want a parse error", tc.content, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%q: %d, %v; want %d", tc.content, got, err, tc.want)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("a missing file read as a limit")
	}
}

func TestApply(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	t.Setenv("GOMEMLIMIT", "")
	soft, err := Apply(write(t, "1000000\n"), 0.9)
	if err != nil || soft != 900000 {
		t.Fatalf("Apply: %d, %v; want 900000", soft, err)
	}
	if got := debug.SetMemoryLimit(-1); got != 900000 {
		t.Fatalf("runtime limit %d, want 900000", got)
	}
	t.Setenv("GOMEMLIMIT", "50MiB")
	if _, err := Apply(write(t, "1000000\n"), 0.9); err == nil {
		t.Fatal("Apply overrode GOMEMLIMIT")
	}
}
