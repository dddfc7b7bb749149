/** What the e2e tests use of the CLI, by name (`@sitesaga/cli/testing`): the fault rehearsal, to run it on a system of their own. */
export * from '../rehearsal/rehearsal-cases';
export * from '../rehearsal/rehearsal-runner';
export * from '../rehearsal/rehearsal-report';
export * from '../rehearsal/site-effects';
export * from '../rehearsal/site-subjects';
