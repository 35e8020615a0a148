import { SetMetadata } from '@nestjs/common';
import { ON_PUSH_METADATA } from '../wwplugin.constants.js';

/** Marks a plugin provider method that receives the host's pushes on `topic` ('*' for every topic). @publicApi */
export const OnPush = (topic = '*'): MethodDecorator => SetMetadata(ON_PUSH_METADATA, { topic });
