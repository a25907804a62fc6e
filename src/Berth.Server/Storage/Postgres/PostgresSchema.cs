namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as numbered steps. Applied by every API server at start-up (<see cref="PostgresDatabase.InitializeAsync"/>)
/// in one transaction under an advisory lock, so servers starting together do not race; <c>berth_schema</c> records the
/// steps applied. Jobs hold their lease (token, expiry by the database clock, cancel flag); files and log chunks live
/// beside them so that any API server can serve any job. A released step is never edited: a change is a new step.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Key of the advisory lock held while the schema is applied.</summary>
    public const long MigrationLock = 0x4265727468_01; // "Berth", 1

    /// <summary>Key of the advisory lock held while a job is enqueued: the queue cap holds across API servers.</summary>
    public const long EnqueueLock = 0x4265727468_02; // "Berth", 2

    /// <summary>The channel <c>NOTIFY</c>-ed when a job is queued; waiting claims wake on it.</summary>
    public const string QueuedChannel = "berth_job_queued";

    /// <summary>
    /// The channel <c>NOTIFY</c>-ed (by triggers, <see cref="Version3Streams"/>) when a job's row changes, with the job id as
    /// payload, or when its log grows, with <see cref="LogPayloadPrefix"/> and the job id: every API server's
    /// <see cref="Streams.JobChanges"/> hears it, whichever server or agent made the change.
    /// </summary>
    public const string JobChangedChannel = "berth_job_changed";

    /// <summary>Begins the payload of a <see cref="JobChangedChannel"/> notification that says a job's log grew.</summary>
    public const string LogPayloadPrefix = "log:";

    /// <summary>Step <c>n</c> brings the schema to version <c>n + 1</c>.</summary>
    public static readonly IReadOnlyList<string> Steps = [Version1, Version2Webhooks, Version3Streams];

    /// <summary>Made before any step runs, so that the steps applied can be read.</summary>
    public const string VersionTable = "CREATE TABLE IF NOT EXISTS berth_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";

    /// <remarks>
    /// <c>jobs</c>: every list is a range of one index read backwards: <c>jobs_owner_status_seq</c>, <c>jobs_owner_seq</c>,
    /// <c>jobs_status_seq</c>, or, with no filter, <c>jobs_seq</c>. That one is partial on <c>seq &gt; 0</c>, which every
    /// row meets and only the unfiltered list states, so that no filtered list can use it: otherwise PostgreSQL's planner
    /// walks all jobs newest first and filters them whenever it guesses the filter common, which reads every job when the
    /// matching ones are all old (an owner who stopped submitting). It is also what keeps <c>seq</c> unique. Claims read
    /// the queued range of <c>jobs_status_seq</c>; expiry reads <c>jobs_lease_expires</c> (only jobs with a running lease). <c>lease_token</c> stays on a job its holder completed
    /// (a retried completion is recognised) and is cleared when the job is queued again or lost.
    /// <c>job_files</c>: each file in chunks of <see cref="PostgresJobFiles.ChunkBytes"/> (the last shorter), numbered from 0.
    /// <c>job_logs</c>: each log in the chunks agents appended, keyed by their byte offset; contiguous from 0.
    /// <c>submit_counts</c>: submissions per owner per minute (database clock, UTC), old minutes pruned.
    /// </remarks>
    private const string Version1 = """
        CREATE SEQUENCE lease_tokens;
        CREATE TABLE jobs (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
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
        CREATE UNIQUE INDEX jobs_seq ON jobs (seq) WHERE seq > 0;
        CREATE INDEX jobs_status_seq ON jobs (status, seq);
        CREATE INDEX jobs_owner_seq ON jobs (owner, seq);
        CREATE INDEX jobs_owner_status_seq ON jobs (owner, status, seq);
        CREATE INDEX jobs_lease_expires ON jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
        CREATE TABLE job_files (
            job_id text NOT NULL,
            file text NOT NULL,
            chunk integer NOT NULL,
            content bytea NOT NULL,
            PRIMARY KEY (job_id, file, chunk)
        );
        CREATE TABLE job_logs (
            job_id text NOT NULL,
            stream text NOT NULL,
            start_offset bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (job_id, stream, start_offset)
        );
        CREATE TABLE submit_counts (
            owner text NOT NULL,
            minute timestamptz NOT NULL,
            count integer NOT NULL,
            PRIMARY KEY (owner, minute)
        );
        CREATE TABLE probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
        """;

    /// <remarks>
    /// Job webhooks (<see cref="PostgresWebhookOutbox"/>): the delivery of each job that has a callback URL lives in its
    /// row, so deleting the job deletes it. <c>webhook_state</c> is null without one, else <c>pending</c>, <c>delivered</c>
    /// or <c>failed</c>; a dispatcher claims a pending delivery of a terminal job until <c>webhook_claimed_until</c>.
    /// Claims read <c>jobs_webhook_pending</c>, which holds only pending deliveries.
    /// </remarks>
    private const string Version2Webhooks = """
        ALTER TABLE jobs
            ADD COLUMN webhook_url text,
            ADD COLUMN webhook_delivery text,
            ADD COLUMN webhook_state text,
            ADD COLUMN webhook_attempts integer NOT NULL DEFAULT 0,
            ADD COLUMN webhook_last_status integer,
            ADD COLUMN webhook_last_error text,
            ADD COLUMN webhook_delivered_at timestamptz,
            ADD COLUMN webhook_next_at timestamptz,
            ADD COLUMN webhook_claimed_until timestamptz;
        CREATE INDEX jobs_webhook_pending ON jobs (seq) WHERE webhook_state = 'pending';
        """;

    /// <remarks>
    /// Live streams: a job row inserted, deleted or changed notifies <see cref="JobChangedChannel"/> with its id, except
    /// an update that changed nothing but the lease's expiry (an agent's heartbeat) or a webhook claim; an appended log chunk notifies
    /// <c>log:</c> and the job id. Notifications are sent at commit, once per distinct payload per transaction.
    /// </remarks>
    private const string Version3Streams = $$"""
        CREATE FUNCTION berth_job_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'UPDATE' AND to_jsonb(OLD) - 'lease_expires_at' - 'webhook_claimed_until' = to_jsonb(NEW) - 'lease_expires_at' - 'webhook_claimed_until' THEN
                RETURN NULL;
            END IF;
            PERFORM pg_notify('{{JobChangedChannel}}', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER jobs_changed AFTER INSERT OR UPDATE OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION berth_job_changed();
        CREATE FUNCTION berth_job_log_appended() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_notify('{{JobChangedChannel}}', '{{LogPayloadPrefix}}' || NEW.job_id);
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER job_logs_appended AFTER INSERT ON job_logs FOR EACH ROW EXECUTE FUNCTION berth_job_log_appended();
        """;
}
