package main

// bvshim bench: the time from nothing to the first read of the artifacts, through
// bootviewfs and through the kernel's own mount of the same View (what urunc does where it
// may mount), each step timed, median of --runs. Page caches are dropped before each run,
// and a View is a new device each time, so every first read is cold.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/mount"
	"github.com/opencontainers/image-spec/identity"
)

// steps of one run, each on its own: View made, served (bootviewfs ready, or mount(2)
// returned), first read of every artifact; and the whole.
type steps struct{ view, serve, read, total time.Duration }

func bench(o *options) error {
	client, err := containerd.New(o.address, containerd.WithDefaultNamespace(o.namespace),
		containerd.WithTimeout(o.timeout))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, done, err := client.WithLease(context.Background())
	if err != nil {
		return err
	}
	defer done(context.Background())
	image, err := client.GetImage(ctx, o.image)
	if err != nil {
		return err
	}
	diffIDs, err := image.RootFS(ctx)
	if err != nil {
		return err
	}
	parent := identity.ChainID(diffIDs).String()
	dir, err := os.MkdirTemp("", "bvshim-bench.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var bv, kernel []steps
	for i := 0; i < o.runs; i++ {
		// Interleaved, so a slow moment of the machine hits both paths alike.
		s, err := benchOne(ctx, client, o, parent, filepath.Join(dir, fmt.Sprint("bv", i)), true)
		if err != nil {
			return err
		}
		bv = append(bv, s)
		s, err = benchOne(ctx, client, o, parent, filepath.Join(dir, fmt.Sprint("k", i)), false)
		if err != nil {
			return err
		}
		kernel = append(kernel, s)
	}
	b, k := median(bv), median(kernel)
	fmt.Printf("| step (median of %d) | bootviewfs | kernel mount | ratio |\n", o.runs)
	fmt.Printf("| --- | --- | --- | --- |\n")
	row := func(name string, x, y time.Duration) {
		fmt.Printf("| %s | %s | %s | %.2fx |\n", name, ms(x), ms(y), float64(x)/float64(y))
	}
	row("View created", b.view, k.view)
	row("served (bootviewfs ready / mount(2) returned)", b.serve, k.serve)
	row("first read of the artifacts", b.read, k.read)
	row("total", b.total, k.total)
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// benchOne makes a View, serves it one way, reads the artifacts, and removes it all.
func benchOne(ctx context.Context, client *containerd.Client, o *options, parent, bundle string,
	viaBootviewfs bool) (steps, error) {
	var s steps
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		return s, err
	}
	sn := client.SnapshotService(o.snapshotter)
	key := "bootviewfs-bench-" + filepath.Base(bundle)
	t0 := time.Now()
	mounts, err := sn.View(ctx, key, parent)
	if err != nil {
		return s, err
	}
	defer sn.Remove(ctx, key)
	t1 := time.Now()
	s.view = t1.Sub(t0)
	mnt := filepath.Join(bundle, "rootfs-view-mount")
	if viaBootviewfs {
		ob := *o
		ob.bundle, ob.id = bundle, filepath.Base(bundle)
		if err := os.MkdirAll(bundle, 0o700); err != nil {
			return s, err
		}
		if err := writeMounts(ob.mountsFile(), mounts); err != nil {
			return s, err
		}
		if _, err := startView(ctx, &ob, ob.mountsFile()); err != nil {
			return s, err
		}
		defer stopView(o.bootviewfs, ob.stateDir())
	} else {
		if err := kernelMount(mounts, mnt); err != nil {
			return s, err
		}
		defer syscall.Unmount(mnt, 0)
	}
	t2 := time.Now()
	s.serve = t2.Sub(t1)
	for _, a := range o.artifacts {
		if err := readAll(filepath.Join(mnt, a)); err != nil {
			return s, err
		}
	}
	s.read = time.Since(t2)
	s.total = time.Since(t0)
	return s, nil
}

// kernelMount mounts the View's one mount read-only with the kernel's filesystem.
func kernelMount(mounts []mount.Mount, mnt string) error {
	if len(mounts) != 1 {
		return fmt.Errorf("%d mounts, expected one", len(mounts))
	}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return err
	}
	m := mounts[0]
	return syscall.Mount(m.Source, mnt, m.Type, syscall.MS_RDONLY, "")
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// median takes the median of each step on its own.
func median(runs []steps) steps {
	pick := func(get func(steps) time.Duration) time.Duration {
		v := make([]time.Duration, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	return steps{
		view:  pick(func(s steps) time.Duration { return s.view }),
		serve: pick(func(s steps) time.Duration { return s.serve }),
		read:  pick(func(s steps) time.Duration { return s.read }),
		total: pick(func(s steps) time.Duration { return s.total }),
	}
}
