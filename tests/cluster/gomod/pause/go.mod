// The pod sandbox program of the test cluster's pause image (tests/cluster/images/scratch.py).
// Standard library only: go.sum stays empty.
module tradestorm.test/cluster/pause

go 1.22
