package testworld

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// DeleteProjects empties the namespace it is given and leaves the others'
// projects alone.
func TestDeleteProjects(t *testing.T) {
	env := testenv.Shared(t)
	ctx := context.Background()
	for _, ns := range []string{"delete-projects", "delete-projects-other"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			p := &sharev1.SharedProject{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("wo-%d", i), Namespace: ns},
				Spec:       sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: fmt.Sprintf("WO-%d", i)},
			}
			if err := env.Client.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := DeleteProjects(ctx, env.Client, "delete-projects", time.Minute); err != nil {
		t.Fatal(err)
	}
	for ns, want := range map[string]int{"delete-projects": 0, "delete-projects-other": 3} {
		rv, err := ResourceVersions(ctx, env.Client, ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(rv) != want {
			t.Errorf("%s holds %d projects after the delete, want %d", ns, len(rv), want)
		}
	}
}
