package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/internal/procstat"
	"github.com/pruvan-share/share-operator/protocol"
)

// The bare copy as a process of its own. The in-process bare copy shares
// the account servers' Go runtime: a goroutine reading a socket that a
// server goroutine writes is woken by the same scheduler, often on the
// same thread. The operator is a process of its own, as any relay that is
// not built into the account server is, and every chunk it reads or writes
// wakes a thread of another process. A bare copy run as a process of its
// own pays the same, so the ratio to it is the relay's own cost alone.

// bareCopyEnv, set to "1" in the environment of the bench's test binary,
// makes it the bare copy's process (TestMain): it reads a bareCopyJob on
// its stdin, copies, and writes a bareCopyAnswer on its stdout.
const bareCopyEnv = "BENCH_BARE_COPY_PROCESS"

// bareCopyJob is what the bare copy's process copies: each item from the
// vendor's feed content to the provider's uploadPictures, Concurrency at a
// time.
type bareCopyJob struct {
	VendorURL, ProviderURL string
	PushKey                string
	Creds                  protocol.Credentials
	Concurrency            int
	// Items are the vendor's items to copy, each with the metadata of its
	// copy at the provider (a new uuid).
	Items []bareCopyItem
}

type bareCopyItem struct {
	Source string
	Copy   protocol.Item
}

// bareCopyAnswer is the copy's time and the process's CPU time while it
// copied, or why it failed.
type bareCopyAnswer struct {
	Took, CPU time.Duration
	Error     string
}

func TestMain(m *testing.M) {
	if os.Getenv(bareCopyEnv) == "1" {
		os.Exit(bareCopyMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// runBareCopyProcess runs the job in a new process of the bench's own
// binary and returns its answer.
func runBareCopyProcess(job bareCopyJob) (bareCopyAnswer, error) {
	in, err := json.Marshal(job)
	if err != nil {
		return bareCopyAnswer{}, err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), bareCopyEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return bareCopyAnswer{}, fmt.Errorf("bare copy process: %w: %s", err, errOut.String())
	}
	var ans bareCopyAnswer
	if err := json.Unmarshal(out.Bytes(), &ans); err != nil {
		return bareCopyAnswer{}, fmt.Errorf("bare copy process: its answer %q: %w", out.String(), err)
	}
	if ans.Error != "" {
		return ans, fmt.Errorf("bare copy process: %s", ans.Error)
	}
	return ans, nil
}

// bareCopyMain is the bare copy's process: it returns the exit code.
func bareCopyMain(stdin io.Reader, stdout io.Writer) int {
	ans := bareCopyAnswer{}
	var job bareCopyJob
	err := json.NewDecoder(stdin).Decode(&job)
	if err == nil {
		ans.Took, ans.CPU, err = job.copy()
	}
	if err != nil {
		ans.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(ans); err != nil {
		return 2
	}
	return 0
}

// copy streams each item's content into its upload, as bareCopy does in
// the bench's process.
func (job bareCopyJob) copy() (took, cpu time.Duration, err error) {
	vendor, err := protocol.NewClient(job.VendorURL)
	if err != nil {
		return 0, 0, err
	}
	provider, err := protocol.NewClient(job.ProviderURL)
	if err != nil {
		return 0, 0, err
	}
	ctx := context.Background()
	cpu0, err := procstat.CPU(os.Getpid())
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	var failed keepError
	parallel(&failed, job.Concurrency, len(job.Items), func(i int) error {
		it := job.Items[i]
		body, _, err := vendor.OpenItem(ctx, job.PushKey, it.Source)
		if err != nil {
			return err
		}
		defer body.Close()
		return provider.UploadItem(ctx, job.Creds, it.Copy, body)
	})
	took = time.Since(start)
	cpu1, err := procstat.CPU(os.Getpid())
	if err != nil {
		return 0, 0, err
	}
	return took, cpu1 - cpu0, failed.err
}

// keepError is parallel's failure sink outside a test: it keeps the error.
type keepError struct{ err error }

func (k *keepError) Fatal(args ...any) { k.err = errors.New(fmt.Sprint(args...)) }
