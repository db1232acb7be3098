package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
)

// migratedSuffix is added to a bolt file once its sandboxes were copied to
// the wal journal.
const migratedSuffix = ".migrated"

// migrateBolt copies the sandboxes of a bolt store left at file by an
// earlier version (the embedded store was bolt) into to, then renames the
// file with migratedSuffix so that it is copied once. Without the file it
// does nothing. A sandbox already in to is left as it is, so a migration
// cut short by a crash is finished by the next start.
func migrateBolt(file string, to sandbox.Store, log *slog.Logger) error {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	from, err := bolt.Open(file)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", file, err)
	}
	n, err := copySandboxes(context.Background(), from, to)
	if cerr := from.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", file, err)
	}
	if err := os.Rename(file, file+migratedSuffix); err != nil {
		return fmt.Errorf("migrate %s: %w", file, err)
	}
	log.Info("sandboxes migrated from the bolt store to the journal", "from", file, "sandboxes", n, "kept_as", file+migratedSuffix)
	return nil
}

// copySandboxes copies every sandbox with metadata, and its journal, from
// one store to another, skipping those the other has.
func copySandboxes(ctx context.Context, from, to sandbox.Store) (int, error) {
	ids, err := from.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, err := to.GetMeta(ctx, id); err == nil {
			continue
		} else if !errors.Is(err, sandbox.ErrNotFound) {
			return n, err
		}
		meta, err := from.GetMeta(ctx, id)
		if err != nil {
			return n, err
		}
		entries, err := from.Load(ctx, id)
		if err != nil {
			return n, err
		}
		// The journal first, the metadata last: a sandbox has metadata in
		// to only once its journal is whole.
		if err := to.Truncate(ctx, id); err != nil {
			return n, err
		}
		for _, e := range entries {
			if _, err := to.Append(ctx, id, e); err != nil {
				return n, err
			}
		}
		if err := to.PutMeta(ctx, id, meta); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
