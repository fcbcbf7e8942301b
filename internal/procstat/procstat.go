// Package procstat reads a process's CPU time from Linux's /proc, for the
// benchmarks that put a figure on a process's CPU (the operator's during an
// import, the API server's a write).
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ticks is USER_HZ, the unit of /proc/<pid>/stat's times on Linux.
const ticks = 100

// CPU is the CPU time the process has used, user and system, from
// /proc/<pid>/stat.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, err := parseCPU(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return d, nil
}

// parseCPU reads utime and stime, the 14th and 15th fields of a stat line.
func parseCPU(stat string) (time.Duration, error) {
	// The command may hold spaces and parentheses: the fields after it
	// follow the last ')'.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("no command in parentheses")
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / ticks, nil
}
