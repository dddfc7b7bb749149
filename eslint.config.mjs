// Type-checked linting for the whole workspace (STYLE.md, "Habits"): promises must be
// awaited or explicitly voided, and never handed where a callback's result is ignored.
// And the house's boundaries (docs/architecture.md): which package may import which.
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/*
 * The dependency graph, as data. Arrows point down only:
 *   kit (libs/message-kit) ← messaging ← saga ← site-saga (the orchestrator)
 *   catalogue (libs/contracts, every site command and event) → kit
 *   participants (sites, storage, databases, bootstrap) → kit, catalogue, messaging, service, secrets
 *   http-contracts (the HTTP shapes) → catalogue, kit; used by the services that answer them and by the CLI
 * Never app → app, lib → app, or the engine (messaging, saga) → the site catalogue: the
 * engine's own tests (*.spec.ts, *.int-spec.ts) may drive it with the site catalogue.
 */
const ELEMENTS = [
  { type: 'kit', pattern: 'libs/message-kit' },
  { type: 'catalogue', pattern: 'libs/contracts' },
  { type: 'http-contracts', pattern: 'libs/http-contracts' },
  { type: 'messaging', pattern: 'libs/messaging' },
  { type: 'service', pattern: 'libs/service' },
  { type: 'saga', pattern: 'libs/saga' },
  { type: 'secrets', pattern: 'libs/secrets' },
  { type: 'orchestrator', pattern: 'apps/site-saga' },
  { type: 'participant', pattern: 'apps/(sites|storage|databases|bootstrap)', capture: ['app'] },
  { type: 'cli', pattern: 'apps/cli' },
  { type: 'tests', pattern: 'test' },
  { type: 'scripts', pattern: 'scripts' },
];

const may = (from, to) => ({ from: { element: { type: from } }, allow: { to: { element: { types: { anyOf: to } } } } });

const POLICIES = [
  may('kit', ['kit']),
  may('catalogue', ['catalogue', 'kit']),
  may('http-contracts', ['http-contracts', 'catalogue', 'kit']),
  may('secrets', ['secrets']),
  // The engine knows the kit, never the site catalogue (each service hands its catalogue in).
  may('messaging', ['messaging', 'kit']),
  may('service', ['service', 'messaging', 'kit', 'http-contracts']),
  may('saga', ['saga', 'messaging', 'kit']),
  may('orchestrator', ['orchestrator', 'saga', 'messaging', 'service', 'kit', 'catalogue', 'http-contracts']),
  // A participant imports its own code and the libraries, never another participant.
  {
    from: { element: { type: 'participant' } },
    allow: { to: { element: { types: { anyOf: ['kit', 'catalogue', 'http-contracts', 'messaging', 'service', 'secrets'] } } } },
  },
  {
    from: { element: { type: 'participant', captured: { app: '{{ from.captured.app }}' } } },
    allow: { to: { element: { type: 'participant', captured: { app: '{{ from.captured.app }}' } } } },
  },
  may('cli', ['cli', 'kit', 'catalogue', 'http-contracts']),
  // Tests and scripts drive everything, but by package name (see no-restricted-imports below).
  may('tests', ['tests', 'scripts', 'kit', 'catalogue', 'http-contracts', 'messaging', 'service', 'saga', 'secrets', 'orchestrator', 'participant', 'cli']),
  may('scripts', ['scripts', 'tests', 'kit', 'catalogue', 'http-contracts', 'messaging', 'service', 'saga', 'secrets']),
];

/**
 * A package's own tests and benches may also use the shared test and bench support
 * (test/support, scripts/bench), and the engine's tests may use the site catalogue as
 * their example domain (its source may not: see `may('messaging', …)`).
 */
const TEST_POLICIES = [
  ...POLICIES,
  {
    from: { element: { types: { anyOf: ['kit', 'catalogue', 'http-contracts', 'messaging', 'service', 'saga', 'secrets', 'orchestrator', 'participant', 'cli'] } } },
    allow: { to: { element: { types: { anyOf: ['tests', 'scripts'] } } } },
  },
  { from: { element: { types: { anyOf: ['messaging', 'saga'] } } }, allow: { to: { element: { type: 'catalogue' } } } },
  // The transport's health test checks it through the chassis' /health/live.
  { from: { element: { type: 'messaging' } }, allow: { to: { element: { type: 'service' } } } },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.local/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    // Some files carry directives for rules of the wider recommended sets; not errors here.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { boundaries },
    settings: {
      'boundaries/elements': ELEMENTS,
      'boundaries/include': ['apps/**/*.ts', 'libs/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
      'import/resolver': { typescript: { project: './tsconfig.json' } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      'boundaries/dependencies': ['error', { default: 'disallow', policies: POLICIES }],
      // Another package is reached by its name (`@sitesaga/saga`, `@sitesaga/saga/testing`), never by a path into its folder.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(libs|apps)/',
              message: 'import another package by name (@sitesaga/<package>, or its /testing entry), not by a path into its folder',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/testing/**/*.ts', '**/bench/**/*.ts'],
    rules: { 'boundaries/dependencies': ['error', { default: 'disallow', policies: TEST_POLICIES }] },
  },
  {
    // Loaded by jest's globalSetup, outside its module mapping: a relative path is what resolves there.
    files: ['scripts/local/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
