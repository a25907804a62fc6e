namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema. Applied by every API server at start-up under an advisory lock, so servers starting together
/// do not race. Jobs hold their lease (token, expiry by the database clock, cancel flag); files and log chunks live
/// beside them so that any API server can serve any job.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Key of the advisory lock held while the schema is applied.</summary>
    public const long MigrationLock = 0x4265727468_01; // "Berth", 1

    /// <summary>The channel <c>NOTIFY</c>-ed when a job is queued; waiting claims wake on it.</summary>
    public const string QueuedChannel = "berth_job_queued";

    public const string Create = """
        CREATE SEQUENCE IF NOT EXISTS lease_tokens;
        CREATE TABLE IF NOT EXISTS jobs (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            name text,
            status text NOT NULL,
            limits text NOT NULL,
            correlation_id text,
            created_at timestamptz NOT NULL,
            started_at timestamptz,
            finished_at timestamptz,
            performance double precision,
            failure_reason text,
            failure_message text,
            stages text NOT NULL,
            image_id text,
            exit_code bigint,
            lint text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            scan text,
            owner text NOT NULL,
            cache boolean NOT NULL DEFAULT true,
            cache_hit boolean NOT NULL DEFAULT false,
            agent text,
            lease_token bigint,
            lease_expires_at timestamptz,
            cancel_requested boolean NOT NULL DEFAULT false
        );
        CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs (status, seq);
        CREATE INDEX IF NOT EXISTS jobs_owner_seq ON jobs (owner, seq);
        CREATE INDEX IF NOT EXISTS jobs_owner_status_seq ON jobs (owner, status, seq);
        CREATE INDEX IF NOT EXISTS jobs_lease_expires ON jobs (lease_expires_at) WHERE lease_token IS NOT NULL;
        CREATE TABLE IF NOT EXISTS job_files (
            job_id text NOT NULL,
            file text NOT NULL,
            content bytea NOT NULL,
            PRIMARY KEY (job_id, file)
        );
        CREATE TABLE IF NOT EXISTS job_logs (
            job_id text NOT NULL,
            stream text NOT NULL,
            start_offset bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (job_id, stream, start_offset)
        );
        CREATE TABLE IF NOT EXISTS submit_counts (
            owner text NOT NULL,
            minute timestamptz NOT NULL,
            count integer NOT NULL,
            PRIMARY KEY (owner, minute)
        );
        CREATE TABLE IF NOT EXISTS probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
        """;
}
