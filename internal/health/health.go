// Package health says what GitOps tools make of the operator's objects:
// kstatus, which Flux, `kubectl wait`-style tools and cli-utils use, and the
// Argo CD health checks in config/argocd, run through gopher-lua the way
// Argo CD runs them. Tests use it to hold the controllers' status writes to
// what those tools expect (docs/gitops.md).
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/pruvan-share/share-operator/config/argocd"
)

// The Argo CD health checks, as config/argocd ships them.
var (
	ShareLinkScript     = argocd.ShareLinkHealth
	SharedProjectScript = argocd.SharedProjectHealth
)

// kstatus statuses, as KStatus returns them.
const (
	InProgress  = string(kstatus.InProgressStatus)
	Current     = string(kstatus.CurrentStatus)
	Failed      = string(kstatus.FailedStatus)
	Terminating = string(kstatus.TerminatingStatus)
)

// Argo CD health statuses, as Argo returns them.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// KStatus is the kstatus status of an object and its message, as Flux's
// health checks and other kstatus-based tools compute it.
func KStatus(obj *unstructured.Unstructured) (status, message string, err error) {
	res, err := kstatus.Compute(obj)
	if err != nil {
		return "", "", err
	}
	return string(res.Status), res.Message, nil
}

// ConfigMapKey is the argocd-cm key of a kind's health check, such as
// "resource.customizations.health.share.pruvan.io_ShareLink".
func ConfigMapKey(gk schema.GroupKind) string {
	if gk.Group == "" {
		return "resource.customizations.health." + gk.Kind
	}
	return "resource.customizations.health." + gk.Group + "_" + gk.Kind
}

// scriptTimeout is how long Argo CD lets a health script run.
const scriptTimeout = time.Second

// invalidStatus is Argo CD's message when a script returns a status it does
// not know.
const invalidStatus = "Lua returned an invalid health status"

// Argo runs an Argo CD health check on an object as Argo CD does: a fresh
// interpreter with only the package, base and table libraries (a check from
// argocd-cm gets no string library unless useOpenLibs is set), the object
// as a global table named obj, a one-second limit, and the table the script
// returns read for status and message. A status Argo CD does not know is
// Unknown, as there. Argo CD also offers a restricted os library, which the
// operator's checks do not use; it is left out here. Argo CD itself answers
// Progressing for an object being deleted without running the script.
func Argo(script string, obj *unstructured.Unstructured) (status, message string, err error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", fmt.Errorf("opening the Lua %s library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", luaValue(l, obj.Object))
	if err := l.DoString(script); err != nil {
		return "", "", fmt.Errorf("running the health script: %w", err)
	}
	tbl, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("expect table output from Lua script, not %s", l.Get(-1).Type())
	}
	if first, _ := tbl.Next(lua.LNil); tbl.Len() > 0 || first == lua.LNil {
		// Argo CD reads the table through JSON: an empty table or a list
		// encodes as an array, which is no health status.
		return "", "", errors.New("the health script returned a list or an empty table, not {status, message}")
	}
	if status, err = stringField(tbl, "status"); err != nil {
		return "", "", err
	}
	if message, err = stringField(tbl, "message"); err != nil {
		return "", "", err
	}
	switch status {
	case Healthy, Progressing, Degraded, Suspended, Missing, Unknown:
		return status, message, nil
	}
	return Unknown, invalidStatus, nil
}

func stringField(tbl *lua.LTable, name string) (string, error) {
	switch v := tbl.RawGetString(name).(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(v), nil
	default:
		return "", fmt.Errorf("the health script's %s is a %s, not a string", name, v.Type())
	}
}

// luaValue converts an object to Lua values as Argo CD does: numbers of any
// Go kind become Lua numbers, maps become tables keyed by string, lists
// become sequences, and anything else is nil.
func luaValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(luaValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), luaValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}
