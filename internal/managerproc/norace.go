//go:build !race

package managerproc

const raceEnabled = false
