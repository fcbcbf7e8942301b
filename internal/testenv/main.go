package testenv

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Main is the TestMain of a test binary whose tests share one control plane
// (Shared): the in-process operator logs nothing unless
// ENVTEST_MANAGER_LOG is set, and the control plane stops when the tests
// end.
func Main(m *testing.M) {
	flag.Parse()
	if os.Getenv("ENVTEST_MANAGER_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		ctrl.SetLogger(logr.Discard())
	}
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
