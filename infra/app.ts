/** The `cdk` entry point (cdk.json): the CLI synthesizes the app when this module finishes. */
import { buildApp } from './build-app';

buildApp();
