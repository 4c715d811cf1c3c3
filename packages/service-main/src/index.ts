export {
  type PreparedService,
  prepareService,
  runService,
  type ServiceContext,
  type ServiceEnv,
  type ServiceSpec,
} from './run-service';
