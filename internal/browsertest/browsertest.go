// Package browsertest starts headless Chromium (Debian's package) for the
// browser tests of the project, with the flags this machine's closed
// network needs.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser test needs Debian's chromium. When /usr/bin/chromium is
// missing and the test runs as root, it installs the package with apt-get
// (once per test binary, waiting for a dpkg lock another test may hold);
// otherwise it skips and says how to install it. -short skips it.
const chromiumPath = "/usr/bin/chromium"

var chromiumSetup struct {
	once sync.Once
	err  error
}

// Chromium returns the path of Debian's chromium, installing it when it is
// missing and the test runs as root; it skips the test when that cannot be
// done, saying why.
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumSetup.once.Do(func() { chromiumSetup.err = installChromium(t) })
	if chromiumSetup.err != nil {
		t.Skipf("browser test: no Chromium: %v", chromiumSetup.err)
	}
	return chromiumPath
}

func installChromium(t testing.TB) error {
	if _, err := os.Stat(chromiumPath); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing and the test does not run as root to install it: run `apt-get install -y chromium`", chromiumPath)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%s is missing and there is no apt-get to install it", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	apt := func(args ...string) error {
		args = append([]string{"-o", "DPkg::Lock::Timeout=300", "-q", "-y"}, args...)
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			tail := string(out)
			if len(tail) > 2000 {
				tail = "…" + tail[len(tail)-2000:]
			}
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args[4:], " "), err, tail)
		}
		return nil
	}
	start := time.Now()
	t.Logf("browser test: installing chromium with apt-get (%s is missing)", chromiumPath)
	err := apt("install", "--no-install-recommends", "chromium")
	if err != nil {
		// Stale package lists: refresh them once and try again.
		t.Logf("browser test: %v; updating the package lists", err)
		if err = apt("update"); err == nil {
			err = apt("install", "--no-install-recommends", "chromium")
		}
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("apt-get installed chromium, but %w", err)
	}
	t.Logf("browser test: chromium installed in %v", time.Since(start).Round(time.Second))
	return nil
}

// New starts a headless Chromium for the test and returns a context to run
// chromedp actions in; it stops with the test.
func New(t testing.TB, exe string) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "browsertest-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Child processes may still write to the profile for a moment after
		// the browser stopped.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("browser profile %s not removed", profile)
	})
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser to exit
	})
	// Start the browser outside any timeout: a timeout on the first run
	// would bound the browser's whole life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
