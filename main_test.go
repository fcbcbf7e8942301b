package main

import (
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestWatchedNamespaces(t *testing.T) {
	tests := []struct {
		name, list string
		want       map[string]cache.Config
		err        string
	}{
		{name: "every namespace", list: "", want: nil},
		{name: "only commas", list: " , ", want: nil},
		{name: "two", list: "team-a, team-b", want: map[string]cache.Config{"team-a": {}, "team-b": {}}},
		{name: "not a name", list: "team-a,Team_B", err: `"Team_B" is not a namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := watchedNamespaces(tt.list)
			if tt.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestCacheOptionsShardAndNamespaces(t *testing.T) {
	g := NewWithT(t)
	opts, err := cacheOptions(flags{watchNamespaces: "a", watchSelector: "shard=1"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(opts.DefaultNamespaces).To(HaveKey("a"))
	g.Expect(opts.ByObject).To(HaveLen(2))
	_, err = cacheOptions(flags{watchSelector: "shard in ("})
	g.Expect(err).To(MatchError(ContainSubstring("--watch-label-selector")))
}

func TestLeaderElectionIDPerShard(t *testing.T) {
	g := NewWithT(t)
	g.Expect(leaderElectionID("")).To(Equal("share-operator.share.pruvan.io"))
	g.Expect(leaderElectionID("shard=1")).NotTo(Equal(leaderElectionID("shard=2")))
	g.Expect(len(leaderElectionID("shard=1"))).To(BeNumerically("<=", 63))
}
