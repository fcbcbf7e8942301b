//go:build race

package managerproc

// raceEnabled: the test binary is built with -race, so the manager is too,
// and the build cache of the test's own dependencies serves its build.
const raceEnabled = true
