// Package chart runs helm on the operator's chart (charts/share-operator) for
// the chart's tests and the end-to-end suite. Helm is built from its Go module
// by hack/helm.sh, like the control plane, so nothing is downloaded.
package chart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// RepoRoot is the repository's top directory, found from this file's path
// as internal/testenv.RepoRoot does (tests run with the source tree at hand).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dir is the chart's directory.
func Dir() string {
	return filepath.Join(RepoRoot(), "charts", "share-operator")
}

// Helm builds helm once (hack/helm.sh caches it outside the repository;
// the first build takes minutes) and returns the binary's path.
func Helm() (string, error) {
	cmd := exec.CommandContext(context.Background(), filepath.Join(RepoRoot(), "hack", "helm.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/helm.sh: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", errors.New("hack/helm.sh printed no path")
	}
	return path, nil
}

// Template renders the chart as release in namespace with values (nil for
// the defaults), CRDs included, and returns the multi-document YAML.
func Template(helm, release, namespace string, values map[string]any) ([]byte, error) {
	return run(helm, values, "template", release, Dir(), "--namespace", namespace, "--include-crds")
}

// Lint runs helm lint --strict on the chart with values (nil for the
// defaults): warnings fail too.
func Lint(helm string, values map[string]any) error {
	_, err := run(helm, values, "lint", "--strict", Dir())
	return err
}

// Objects splits rendered YAML into its objects, skipping empty documents.
func Objects(manifest []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered chart: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("decoding a rendered document: %w\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// run runs helm with args and values in a file of their own, and with
// helm's config, cache and data directories in a temporary directory, so no
// repository list or plugin of the user's changes the result.
func run(helm string, values map[string]any, args ...string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "share-operator-chart-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if values != nil {
		data, err := yaml.Marshal(values)
		if err != nil {
			return nil, fmt.Errorf("encoding the values: %w", err)
		}
		file := filepath.Join(tmp, "values.yaml")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--values", file)
	}
	cmd := exec.CommandContext(context.Background(), helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"HELM_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"HELM_DATA_HOME="+filepath.Join(tmp, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// helm lint reports its findings on stdout, helm template on stderr.
		return nil, fmt.Errorf("helm %s: %w\n%s%s", args[0], err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}
