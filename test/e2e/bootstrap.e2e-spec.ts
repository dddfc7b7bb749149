/**
 * The bootstrap service as a process, driven only through Kafka: it installs a site's
 * schema, options and admin user in the site's own database (as the site's role) and its
 * config file in the site's storage directory; it refuses hostile input before touching
 * anything. Site databases are made here by apps/databases' own SiteDatabaseServer, as
 * the databases service would.
 *
 * Needs `pnpm --filter @sitesaga/bootstrap... build` first.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { BootstrapSite, type Envelope, Topics, dlqTopicOf } from '@sitesaga/contracts';
import { sealSecret } from '@sitesaga/secrets';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { generateDatabasePassword } from '@sitesaga/databases/testing';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { SiteDatabaseServer } from '@sitesaga/databases/testing';
import { consumerGroupAtEnd } from '../support/consumer-group';
import { headerOf, recordTopics, testKafka } from '../support/kafka-probe';
import { type ServiceProcess, startService } from '../support/service-process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60_000);

// bcrypt is a dependency of apps/bootstrap, not of the repository root.
const bcrypt = createRequire(path.join(__dirname, '../../apps/bootstrap/package.json'))('bcrypt') as typeof import('bcrypt');

const serverUrl = (database = 'postgres', user?: string, password?: string): string => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  if (user) {
    url.username = user;
    url.password = password ? encodeURIComponent(password) : '';
  }
  return url.toString();
};

const secretsKey = randomBytes(32);
type ServerLogger = Parameters<typeof SiteDatabaseServer.connect>[0]['logger'];
const quietLogger = { info: () => undefined, warn: () => undefined, child: () => quietLogger } as unknown as ServerLogger;
const prefix = `e2e_bootstrap_${randomBytes(3).toString('hex')}_`;
type Site = { siteId: string; databaseName: string; user: string; password: string; credentials: string };

describe('bootstrap service', () => {
  let service: ServiceProcess;
  let producer: Producer;
  let probe: Awaited<ReturnType<typeof recordTopics>>;
  let group: Awaited<ReturnType<typeof consumerGroupAtEnd>> | undefined;
  let siteServer: SiteDatabaseServer;
  let storageRoot: string;
  const sites: Site[] = [];

  /** A provisioned site database and storage directory, as the two earlier saga steps leave them. */
  const provisionedSite = async (options: { storage?: boolean } = {}): Promise<Site> => {
    const siteId = randomUUID();
    const names = siteDatabaseNames(siteId);
    const password = generateDatabasePassword();
    await siteServer.provision(names, password, { resetPassword: true });
    if (options.storage !== false) await mkdir(path.join(storageRoot, siteId), { mode: 0o750 });
    const site = { siteId, databaseName: names.databaseName, user: names.roleName, password, credentials: sealSecret(secretsKey, { user: names.roleName, password }, { context: siteId }) };
    sites.push(site);
    return site;
  };

  const bootstrapCommand = (site: Site, overrides: Record<string, unknown> = {}, sagaId: string = randomUUID()) =>
    BootstrapSite.create(
      {
        siteId: site.siteId,
        name: 'my-blog',
        domain: 'blog.example.com',
        tagline: 'Just another site',
        adminEmail: 'owner@example.com',
        databaseName: site.databaseName,
        credentials: site.credentials,
        ...overrides,
      },
      { sagaId, correlationId: randomUUID(), causationId: null },
    );

  const send = async (envelope: Envelope | Record<string, unknown>): Promise<void> => {
    await producer.send({ topic: Topics.bootstrapCommands, messages: [{ key: String(envelope.sagaId), value: JSON.stringify(envelope) }] });
  };

  const repliesOf = (sagaId: string): Envelope[] =>
    probe.messages
      .filter((message) => message.topic === Topics.bootstrapEvents)
      .map((message) => JSON.parse(message.value!.toString()) as Envelope)
      .filter((envelope) => envelope.sagaId === sagaId);

  const waitForReplies = (sagaId: string, count: number, what: string): Promise<Envelope[]> =>
    waitFor(() => (repliesOf(sagaId).length >= count ? repliesOf(sagaId) : undefined), { within: '30s', what });

  const asSite = async <T>(site: Site, work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: serverUrl(site.databaseName, site.user, site.password) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  const tablesOf = (site: Site): Promise<string[]> =>
    asSite(site, async (client) => (await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows.map((row) => row.tablename as string));

  beforeAll(async () => {
    storageRoot = await mkdtemp(path.join(tmpdir(), 'bootstrap-e2e-'));
    siteServer = await SiteDatabaseServer.connect({
      siteDatabaseUrl: serverUrl(),
      provisionerPassword: undefined,
      siteConnectionLimit: 20,
      poolSize: 1,
      logger: quietLogger,
    });
    const kafka = testKafka('bootstrap-e2e');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    probe = await recordTopics(kafka, [Topics.bootstrapEvents, dlqTopicOf(Topics.bootstrapCommands)]);
    group = await consumerGroupAtEnd(kafka, 'bootstrap-e2e', [Topics.bootstrapCommands]);
    service = await startService('bootstrap', {
      DATABASE_NAME_PREFIX: prefix,
      KAFKA_GROUP_ID: group.groupId,
      SECRETS_KEY: secretsKey.toString('base64'),
      STORAGE_ROOT: storageRoot,
      HANDLER_ATTEMPTS: '3',
      HANDLER_BACKOFF_MS: '20',
      LOG_LEVEL: 'debug',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await probe?.stop();
    await group?.drop();
    await producer?.disconnect();
    for (const site of sites) await siteServer.drop(siteDatabaseNames(site.siteId));
    await siteServer?.onApplicationShutdown();
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${prefix}bootstrap" WITH (FORCE)`);
    await admin.end();
    await rm(storageRoot, { recursive: true, force: true });
  });

  it('installs the schema, the options and an admin user in the site database, and a private config file', async () => {
    const site = await provisionedSite();
    const sent = bootstrapCommand(site);
    await send(sent);
    const [reply] = await waitForReplies(sent.sagaId, 1, 'SiteBootstrapped');
    expect(reply).toMatchObject({ type: 'SiteBootstrapped', payload: { siteId: site.siteId, adminUser: 'admin' }, causationId: sent.id });

    expect(await tablesOf(site)).toEqual(
      ['commentmeta', 'comments', 'links', 'options', 'postmeta', 'posts', 'term_relationships', 'term_taxonomy', 'terms', 'usermeta', 'users'].sort(),
    );
    await asSite(site, async (client) => {
      const options = Object.fromEntries((await client.query('SELECT option_name, option_value FROM options')).rows.map((row) => [row.option_name, row.option_value]));
      expect(options).toMatchObject({
        siteurl: 'https://blog.example.com',
        home: 'https://blog.example.com',
        blogname: 'my-blog',
        blogdescription: 'Just another site',
        admin_email: 'owner@example.com',
        sitesaga_bootstrap_version: '1',
      });
      const users = (await client.query('SELECT id, user_login, user_pass, user_email FROM users')).rows;
      expect(users).toEqual([{ id: '1', user_login: 'admin', user_pass: expect.stringMatching(/^\$2[aby]\$10\$/), user_email: 'owner@example.com' }]);
      // A real bcrypt hash of cost 10, of a password nobody was ever told.
      expect(users[0].user_pass).toMatch(/^\$2[aby]\$10\$[./A-Za-z0-9]{53}$/);
      expect(bcrypt.getRounds(users[0].user_pass)).toBe(10);
      expect(await bcrypt.compare('admin', users[0].user_pass)).toBe(false);
      const meta = (await client.query(`SELECT meta_value FROM usermeta WHERE user_id = 1 AND meta_key = 'capabilities'`)).rows;
      expect(meta).toEqual([{ meta_value: 'a:1:{s:13:"administrator";b:1;}' }]);
      const indexes = (await client.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'posts'`)).rows.map((row) => row.indexname);
      expect(indexes).toEqual(expect.arrayContaining(['posts_post_name', 'posts_type_status_date', 'posts_post_parent', 'posts_post_author']));
      // The site's own role owns what it made.
      const owners = (await client.query(`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`)).rows;
      expect(owners).toEqual([{ tableowner: site.user }]);
    });

    const file = path.join(storageRoot, site.siteId, 'wp-config.php');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const config = await readFile(file, 'utf8');
    expect(config).toContain(`define( 'DB_NAME', '${site.databaseName}' );`);
    expect(config).toContain(`define( 'DB_USER', '${site.user}' );`);
    expect(config).toContain(`define( 'DB_PASSWORD', '${site.password}' );`);
    expect(await readdir(path.join(storageRoot, site.siteId))).toEqual(['wp-config.php']);

    const admin = new Client({ connectionString: serverUrl(`${prefix}bootstrap`) });
    await admin.connect();
    const record = (await admin.query('SELECT status, admin_user FROM bootstrap_records WHERE site_id = $1', [site.siteId])).rows;
    await admin.end();
    expect(record).toEqual([{ status: 'BOOTSTRAPPED', admin_user: 'admin' }]);
  });

  it('has one effect for a command sent twice, and the same reply for a re-sent one', async () => {
    const site = await provisionedSite();
    const first = bootstrapCommand(site);
    await send(first);
    await send(first); // a redelivery
    await waitForReplies(first.sagaId, 1, 'SiteBootstrapped');
    const state = () =>
      asSite(site, async (client) => ({
        users: (await client.query('SELECT id, user_pass FROM users')).rows,
        options: (await client.query('SELECT count(*)::int AS n FROM options')).rows[0].n,
        meta: (await client.query('SELECT count(*)::int AS n FROM usermeta')).rows[0].n,
      }));
    const before = await state();
    const fileBefore = await readFile(path.join(storageRoot, site.siteId, 'wp-config.php'), 'utf8');

    const again = BootstrapSite.create(first.payload, { sagaId: first.sagaId, correlationId: first.correlationId, causationId: null });
    await send(again);
    const replies = await waitForReplies(first.sagaId, 2, 'a reply to the re-sent command');
    expect(replies.map((reply) => [reply.type, reply.causationId, reply.payload])).toEqual([
      ['SiteBootstrapped', first.id, { siteId: site.siteId, adminUser: 'admin' }],
      ['SiteBootstrapped', again.id, { siteId: site.siteId, adminUser: 'admin' }],
    ]);
    expect(await state()).toEqual(before);
    expect(before.users).toHaveLength(1);
    expect(await readFile(path.join(storageRoot, site.siteId, 'wp-config.php'), 'utf8')).toBe(fileBefore);
  });

  it('refuses a hostile database name or credentials that do not open, for a business reason, touching nothing', async () => {
    const site = await provisionedSite();
    const other = await provisionedSite();
    const cases = [
      { overrides: { databaseName: '"; drop database postgres;--' }, reason: /databaseName is not the database of site/ },
      { overrides: { databaseName: other.databaseName, credentials: other.credentials }, reason: /databaseName is not the database of site/ },
      { overrides: { credentials: sealSecret(randomBytes(32), { user: site.user, password: site.password }, { context: site.siteId }) }, reason: /credentials do not open/ },
      { overrides: { credentials: other.credentials }, reason: /credentials do not open/ }, // another site's login
    ];
    const sent = cases.map((testCase) => bootstrapCommand(site, testCase.overrides));
    for (const envelope of sent) await send(envelope);
    for (const [index, envelope] of sent.entries()) {
      const [reply] = await waitForReplies(envelope.sagaId, 1, `refusal ${index}`);
      expect(reply).toMatchObject({ type: 'SiteBootstrapFailed', payload: { siteId: site.siteId, class: 'business', reason: expect.stringMatching(cases[index]!.reason) } });
      expect((reply!.payload as { reason: string }).reason).not.toContain('drop database');
    }
    expect(await tablesOf(site)).toEqual([]);
    expect(await tablesOf(other)).toEqual([]);
    expect(await readdir(path.join(storageRoot, site.siteId))).toEqual([]);
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    expect((await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = 'postgres'`)).rows[0].n).toBe(1);
    await admin.end();
  });

  it('dead-letters a command that breaks its contract, with the reason', async () => {
    const site = await provisionedSite();
    const valid = bootstrapCommand(site);
    const broken = { ...valid, id: randomUUID(), payload: { ...valid.payload, adminEmail: 'not an email', databaseName: 'x'.repeat(64) } };
    await send(broken);
    const [letter] = await waitFor(
      () => {
        const found = probe.messages.filter((message) => message.topic === dlqTopicOf(Topics.bootstrapCommands) && String(message.value).includes(broken.id));
        return found.length > 0 ? found : undefined;
      },
      { within: '30s', what: 'a dead letter' },
    );
    expect(headerOf(letter!, 'dlq-reasons')).toEqual(expect.stringContaining('payload.adminEmail'));
    expect(headerOf(letter!, 'dlq-reasons')).toEqual(expect.stringContaining('payload.databaseName'));
    expect(repliesOf(valid.sagaId)).toEqual([]);
    expect(await tablesOf(site)).toEqual([]);
  });

  it('reports a storage directory that is not there as transient, after retrying it locally, and succeeds once it is', async () => {
    const site = await provisionedSite({ storage: false });
    const sent = bootstrapCommand(site);
    await send(sent);
    const [failure] = await waitForReplies(sent.sagaId, 1, 'SiteBootstrapFailed');
    expect(failure).toMatchObject({ type: 'SiteBootstrapFailed', payload: { class: 'transient', reason: expect.stringMatching(/storage directory/) } });
    expect(await tablesOf(site)).toEqual([]);

    // The orchestrator re-sends once storage is there.
    await mkdir(path.join(storageRoot, site.siteId));
    const retry = BootstrapSite.create(sent.payload, { sagaId: sent.sagaId, correlationId: sent.correlationId, causationId: null });
    await send(retry);
    const replies = await waitForReplies(sent.sagaId, 2, 'SiteBootstrapped after the retry');
    expect(replies[1]).toMatchObject({ type: 'SiteBootstrapped', causationId: retry.id });
  });

  it('never writes a database password in the clear to its log or to Kafka', () => {
    const logs = service.output();
    expect(logs).toContain('site bootstrapped'); // debug logging was on: the scan saw real traffic
    const kafkaValues = probe.messages.map((message) => `${message.value?.toString() ?? ''} ${JSON.stringify(message.headers ?? {})}`).join('\n');
    for (const site of sites) {
      expect(logs).not.toContain(site.password);
      expect(kafkaValues).not.toContain(site.password);
    }
  });
});
