// Package image checks that the manager image builds from its own build
// context: no container engine can pull base images here, so the test builds
// the manager from exactly the files the Dockerfile copies.
package image

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/internal/testenv"
)

// copyLine is one COPY instruction of the build stage: sources relative to
// the build context, and the destination relative to the WORKDIR.
type copyLine struct {
	sources []string
	dest    string
}

// builderCopies returns the COPY lines of the Dockerfile's first stage, the
// one that builds the manager; COPY --from lines (between stages) are not
// from the context.
func builderCopies(dockerfile string) ([]copyLine, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var lines []copyLine
	stages := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			stages++
		case "COPY":
			if stages != 1 || strings.HasPrefix(fields[1], "--from") {
				continue
			}
			if len(fields) < 3 {
				return nil, fmt.Errorf("COPY without a destination: %q", sc.Text())
			}
			lines = append(lines, copyLine{sources: fields[1 : len(fields)-1], dest: fields[len(fields)-1]})
		}
	}
	return lines, sc.Err()
}

// stage copies what the COPY lines name from root into a new build context.
func stage(t *testing.T, root string, lines []copyLine) string {
	t.Helper()
	dir := t.TempDir()
	for _, l := range lines {
		for _, pattern := range l.sources {
			matches, err := filepath.Glob(filepath.Join(root, pattern))
			if err != nil || len(matches) == 0 {
				t.Fatalf("COPY %s: nothing in the build context matches", pattern)
			}
			for _, src := range matches {
				copyOne(t, src, filepath.Join(dir, l.dest), strings.HasSuffix(l.dest, "/") || len(matches) > 1)
			}
		}
	}
	return dir
}

// copyOne copies as Docker does: a directory's contents go into the
// destination; a file goes into it when it names a directory.
func copyOne(t *testing.T, src, dest string, destIsDir bool) {
	t.Helper()
	info, err := os.Stat(src)
	if err != nil {
		t.Fatalf("COPY %s: %v", src, err)
	}
	if !info.IsDir() && destIsDir {
		dest = filepath.Join(dest, filepath.Base(src))
	}
	if err := copyTree(src, dest); err != nil {
		t.Fatalf("COPY %s: %v", src, err)
	}
}

func copyTree(src, dest string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dest, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func TestBuilderCopiesParse(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), "Dockerfile")
	g.Expect(os.WriteFile(path, []byte(`FROM golang AS builder
# COPY commented/ out/
COPY go.mod go.sum ./
COPY main.go main.go
FROM distroless
COPY --from=builder /workspace/manager .
COPY late.txt /late.txt
`), 0o644)).To(Succeed())
	lines, err := builderCopies(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lines).To(Equal([]copyLine{
		{sources: []string{"go.mod", "go.sum"}, dest: "./"},
		{sources: []string{"main.go"}, dest: "main.go"},
	}))
}

// TestManagerBuildsFromDockerfileContext builds the manager the way the
// Dockerfile's build stage does, from only the files it copies.
func TestManagerBuildsFromDockerfileContext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager")
	}
	g := NewWithT(t)
	root := testenv.RepoRoot()
	lines, err := builderCopies(filepath.Join(root, "Dockerfile"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lines).NotTo(BeEmpty())
	dir := stage(t, root, lines)
	cmd := exec.Command("go", "build", "-mod=readonly", "-trimpath", "-o", filepath.Join(t.TempDir(), "manager"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the manager does not build from the Dockerfile's COPY lines (%v):\n%s", err, out)
	}
}
