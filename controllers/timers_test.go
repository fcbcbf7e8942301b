package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestTimersOnTime(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		res  ctrl.Result
		err  error
		want *int
	}{
		{"a timer fires at normal priority", ctrl.Result{RequeueAfter: time.Minute}, nil, ptr.To(0)},
		{"no timer keeps the request's priority", ctrl.Result{}, nil, nil},
		{"an error keeps the request's priority for its backoff", ctrl.Result{RequeueAfter: time.Minute}, boom, nil},
		{"a priority the reconciler chose stays", ctrl.Result{RequeueAfter: time.Minute, Priority: ptr.To(-100)}, nil, ptr.To(-100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := reconcile.Func(func(context.Context, ctrl.Request) (ctrl.Result, error) { return tc.res, tc.err })
			res, err := timersOnTime(inner).Reconcile(context.Background(), ctrl.Request{})
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if res.RequeueAfter != tc.res.RequeueAfter {
				t.Errorf("RequeueAfter %s, want %s", res.RequeueAfter, tc.res.RequeueAfter)
			}
			if (res.Priority == nil) != (tc.want == nil) || (tc.want != nil && *res.Priority != *tc.want) {
				t.Errorf("priority %v, want %v", ptr.Deref(res.Priority, 999), ptr.Deref(tc.want, 999))
			}
		})
	}
}
