// Package memlimit gives the Go runtime a soft memory limit below the
// container's, so that the garbage collector works harder as the process
// nears its memory limit instead of the kernel killing it.
package memlimit

import (
	"errors"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// CgroupFile is the cgroup v2 memory limit of the process's own cgroup, as
// a container sees it.
const CgroupFile = "/sys/fs/cgroup/memory.max"

// ErrNoLimit says the cgroup sets no memory limit.
var ErrNoLimit = errors.New("no cgroup memory limit")

// Read returns the memory limit in bytes from a cgroup v2 memory.max file.
func Read(path string) (int64, error) {
	b, err := os.ReadFile(path) //nolint:gosec // a fixed kernel file, or a test's
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, ErrNoLimit
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("memory.max: not a limit: " + strconv.Quote(s))
	}
	return n, nil
}

// Apply sets the runtime's soft memory limit to ratio of the cgroup's
// limit, unless GOMEMLIMIT already sets one. It returns the limit it set,
// or 0 and why it set none.
func Apply(path string, ratio float64) (int64, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, errors.New("GOMEMLIMIT is set")
	}
	limit, err := Read(path)
	if err != nil {
		return 0, err
	}
	soft := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(soft)
	return soft, nil
}
